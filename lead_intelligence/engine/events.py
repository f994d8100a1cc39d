"""Named arrays of the events stage: the events logged, queued and counted, the event types
and the stored engagement, as columns.

Each is a small frozen dataclass of numpy columns of one length (see
:class:`engine.stages.Columns`): the counting job reads ``events.lead_id``, never
``rows[:, 1]``. The functions of :mod:`engine.behaviour` read these columns by name.
"""

import dataclasses

import numpy as np

from .arrays import Columns
from .stages import EngagementRows


@dataclasses.dataclass(frozen=True, eq=False)
class IncomingEvents(Columns):
    """Validated events to log, one row per event; each column (n,).

    * ``lead_id``: int64, the lead;
    * ``code``: the code of the event type;
    * ``occurred_at``: naive UTC datetimes;
    * ``external_id``: the event's id at its source;
    * ``value``: float or None; ``url``: str or None;
    * ``filter_reason``: the stored code of the reason it is flagged at once
      (``behaviour.REASON_CODES``), None for an event to count.
    """

    _DTYPES = {"code": object, "occurred_at": object, "external_id": object, "value": object, "url": object,
               "filter_reason": object}

    lead_id: np.ndarray
    code: np.ndarray
    occurred_at: np.ndarray
    external_id: np.ndarray
    value: np.ndarray
    url: np.ndarray
    filter_reason: np.ndarray


@dataclasses.dataclass(frozen=True, eq=False)
class TimedEvents(Columns):
    """Events as caps and bursts see them; each column (n,).

    * ``lead_id``, ``type_id``: int64;
    * ``ts``: float64, when the event occurred (POSIX seconds).
    """

    _DTYPES = {"ts": np.float64}

    lead_id: np.ndarray
    type_id: np.ndarray
    ts: np.ndarray


@dataclasses.dataclass(frozen=True, eq=False)
class QueuedEvents(Columns):
    """Events waiting to be counted, as the queue keeps them; each column (n,).

    * ``event_id``, ``lead_id``, ``type_id``: int64;
    * ``ts``: float64, when the event occurred (POSIX seconds);
    * ``value``: float64, its value, NaN for none.
    """

    _DTYPES = {"ts": np.float64, "value": np.float64}

    event_id: np.ndarray
    lead_id: np.ndarray
    type_id: np.ndarray
    ts: np.ndarray
    value: np.ndarray


@dataclasses.dataclass(frozen=True, eq=False)
class EventTypes(Columns):
    """The event types, archived ones included, by increasing id; each column (k,).

    * ``id``: int64;
    * ``daily_cap``: int64, events counted per lead and day at most, 0 for no cap;
    * ``half_life``: float64, in days, 0 for no decay;
    * ``per_minute``: bool, its points are per minute of the event's value (seconds);
    * ``buying_signal``: bool, its events feed the buying signals counter too;
    * ``engaging``: bool, its events earn points (a later last engagement date);
    * ``counter``: the lead counter its events feed, '' for none.
    """

    _DTYPES = {"half_life": np.float64, "per_minute": bool, "buying_signal": bool, "engaging": bool,
               "counter": object}

    id: np.ndarray
    daily_cap: np.ndarray
    half_life: np.ndarray
    per_minute: np.ndarray
    buying_signal: np.ndarray
    engaging: np.ndarray
    counter: np.ndarray

    def index_of(self, type_ids):
        """(n,) the position in these types of each of ``type_ids``."""
        return np.searchsorted(self.id, np.asarray(type_ids, dtype=np.int64))


@dataclasses.dataclass(frozen=True, eq=False)
class GroupedUnits(Columns):
    """New events to fold into decayed sums; each column (n,).

    * ``group``: int64, the index of the sum the event adds to;
    * ``units``: float64, what it adds (see ``behaviour.event_units``);
    * ``ts``: float64, when it occurred (POSIX seconds).
    """

    _DTYPES = {"units": np.float64, "ts": np.float64}

    group: np.ndarray
    units: np.ndarray
    ts: np.ndarray


@dataclasses.dataclass(frozen=True, eq=False)
class EngagementSums(Columns):
    """Decayed sums of engagement, one per lead and event type, as stored; each column (g,).

    * ``lead_id``, ``type_id``: int64;
    * ``units``: float64, the decayed units at ``ref`` (0 for no sum yet);
    * ``ref``: float64, the time they are valid at (POSIX seconds).
    """

    _DTYPES = {"units": np.float64, "ref": np.float64}

    lead_id: np.ndarray
    type_id: np.ndarray
    units: np.ndarray
    ref: np.ndarray

    def rows(self, lead_ids, config):
        """These sums as the scoring pass weighs them: points of the types of ``config``.

        :param lead_ids: (n,) sorted ids of the leads of the chunk, all the sums' leads among them
        :param config: the scoring configuration (``type_ids`` sorted, ``type_points``, ``type_half_lives``)
        :rtype: engine.stages.EngagementRows
        """
        type_index = np.searchsorted(config.type_ids, self.type_id)
        return EngagementRows(lead_index=np.searchsorted(lead_ids, self.lead_id), type_index=type_index,
                              points=self.units * config.type_points[type_index], ref=self.ref,
                              half_life=config.type_half_lives[type_index])
