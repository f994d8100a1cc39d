"""Named arrays handed from one stage of the scoring pass to the next.

Each is a small frozen dataclass of numpy columns of one length, one row per
lead (or per stored sum, or per changed cell): a stage reads ``state.tier_id``
rather than ``state[:, 3]``. ``from_matrix`` and ``to_matrix`` convert from
and to the integer matrices the pass reads from and writes to PostgreSQL.

Conventions of the integer columns: ``-1`` for a score not computed yet,
``0`` for no record (tier, score line, company).
"""

import dataclasses

import numpy as np

from . import arrays, behaviour
from .arrays import Columns

# a model probability is stored with 4 decimals: it is handled as an integer of this many steps
PROBABILITY_STEPS = 10000
# the scores the lead shows as fields of its own, by the same names (the probability is a float there)
LEAD_SCORE_FIELDS = ("fit_score", "score", "tier_id", "engagement_score", "model_score")


@dataclasses.dataclass(frozen=True, eq=False)
class ScoreUpdate(Columns):
    """The scores of a chunk of leads, as stored; each column (n,) int64.

    * ``fit_score``, ``score``, ``engagement_score``: 0-100, -1 not computed yet;
    * ``tier_id``: the tier's id, 0 for none;
    * ``model_score``: 0-100, -1 where the lead has no model;
    * ``model_probability``: in :data:`PROBABILITY_STEPS` (ten-thousandths), -1 where the lead has no model.
    """

    fit_score: np.ndarray
    score: np.ndarray
    tier_id: np.ndarray
    engagement_score: np.ndarray
    model_score: np.ndarray
    model_probability: np.ndarray

    @classmethod
    def from_result(cls, result, probability):
        """The stored scores of an engine result.

        :param result: a :class:`engine.scoring.ScoreResult`
        :param probability: (n,) the model's probability of winning, NaN for a lead without a model
        """
        probability = np.asarray(probability, dtype=np.float64)
        steps = np.where(np.isnan(probability), -1, np.round(np.nan_to_num(probability) * PROBABILITY_STEPS))
        return cls(fit_score=result.fit_score, score=result.score, tier_id=result.tier_id,
                   engagement_score=result.engagement_score, model_score=result.model_score,
                   model_probability=steps)

    def changes_from(self, old):
        """What moved from the scores ``old`` (aligned rows) to these.

        :rtype: ScoreChanges
        """
        moved = old.tier_id != self.tier_id
        scores = (old.fit_score != self.fit_score) | (old.score != self.score)
        rescored = scores | (old.engagement_score != self.engagement_score) \
            | (old.model_score != self.model_score) | (old.model_probability != self.model_probability)
        return ScoreChanges(changed=scores | moved, moved=moved, rescored=rescored)

    def field_changes(self, ids, old):
        """The lead fields of :data:`LEAD_SCORE_FIELDS` these scores change from the scores ``old``
        (aligned rows, the leads ``ids``), as :class:`FieldChanges`: a score not computed yet
        reads 0, as on the lead."""
        return FieldChanges.concatenate(*(
            FieldChanges.of_field(name, ids, np.maximum(getattr(old, name), 0), np.maximum(getattr(self, name), 0))
            for name in LEAD_SCORE_FIELDS))


@dataclasses.dataclass(frozen=True, eq=False)
class ScoreChanges(Columns):
    """Masks (n,) bool of the leads whose scores moved, from :meth:`ScoreUpdate.changes_from`.

    * ``changed``: the fit score, score or tier (what the history follows);
    * ``moved``: the tier;
    * ``rescored``: a score kept beside the lead (fit, score, engagement, model
      score or probability), not the tier, which is on the lead.
    """

    _DTYPES = {"changed": bool, "moved": bool, "rescored": bool}

    changed: np.ndarray
    moved: np.ndarray
    rescored: np.ndarray


@dataclasses.dataclass(frozen=True, eq=False)
class LeadState(Columns):
    """What is stored of a chunk of leads before it is scored; each column (n,) int64 but ``score_dirty``.

    * ``id``: the lead's id, increasing;
    * ``company_id``: 0 for none;
    * ``fit_score``, ``score``, ``tier_id``, ``engagement_score``, ``model_score``,
      ``model_probability``: the stored scores, as in :class:`ScoreUpdate`;
    * ``score_dirty``: bool, the lead was flagged for scoring;
    * ``score_line_id``: the id of its row of scores, 0 for none yet.
    """

    _DTYPES = {"score_dirty": bool}

    id: np.ndarray
    company_id: np.ndarray
    fit_score: np.ndarray
    score: np.ndarray
    tier_id: np.ndarray
    score_dirty: np.ndarray
    score_line_id: np.ndarray
    engagement_score: np.ndarray
    model_score: np.ndarray
    model_probability: np.ndarray

    def stored_scores(self):
        """The stored scores, to compare with the new ones (see :meth:`ScoreUpdate.changes_from`)."""
        return ScoreUpdate(**{name: getattr(self, name) for name in ScoreUpdate.column_names()})

    def needs_lead_write(self, changes):
        """(n,) bool: the leads whose own row is written (tier, score line): the tier moved, or the
        lead gets its first row of scores (the dirty flag is not on the lead's row)."""
        return changes.moved | (self.score_line_id == 0)


@dataclasses.dataclass(frozen=True, eq=False)
class EngagementRows(Columns):
    """Stored engagement of a chunk of leads, one row per lead and event type.

    * ``lead_index``: (m,) int64, the lead's position in the chunk;
    * ``type_index``: (m,) int64, the event type's position in the types read;
    * ``points``: (m,) float64, the points at ``ref`` (units times the type's points);
    * ``ref``: (m,) float64, the time the points are valid at (POSIX seconds);
    * ``half_life``: (m,) float64, the type's half-life in days (0: no decay).
    """

    _DTYPES = {"points": np.float64, "ref": np.float64, "half_life": np.float64}

    lead_index: np.ndarray
    type_index: np.ndarray
    points: np.ndarray
    ref: np.ndarray
    half_life: np.ndarray

    def decayed(self, now):
        """(m,) the points of each row at ``now`` (POSIX seconds)."""
        return behaviour.decayed_points(self.points, self.ref, self.half_life, now)

    def lead_totals(self, now, n_leads):
        """(n_leads,) the decayed points of each lead of the chunk at ``now``."""
        return np.bincount(self.lead_index, weights=self.decayed(now), minlength=n_leads).astype(np.float64)

    def decay_bounds(self, now, n_leads):
        """How far decay can move each lead's total from ``now`` on: ``(swing, half_life)``, (n_leads,)
        float each, the sum of the absolute points at ``now`` of its rows that decay, and the shortest
        half-life (days) among them (inf for none).

        Each row's points move towards 0 by at most a share ``1 - 0.5 ** (t / its half-life)`` of
        what they are worth now in ``t`` days (a row kept at a later time does not decay until
        then), so whatever their signs the total moves by at most ``swing * (1 - 0.5 ** (t /
        half_life))``.
        """
        decays = self.half_life > 0
        index = self.lead_index[decays]
        swing = np.bincount(index, weights=np.abs(self.decayed(now)[decays]), minlength=n_leads).astype(np.float64)
        half_life = np.full(n_leads, np.inf)
        np.minimum.at(half_life, index, self.half_life[decays])
        return swing, half_life


@dataclasses.dataclass(frozen=True, eq=False)
class TrackingCells(Columns):
    """Field changes made by SQL, to post in the chatter as Odoo's field tracking; each column (m,) int64.

    * ``res_id``: the record changed; ``field_id``: the ``ir.model.fields`` id of its field;
    * ``old_int``, ``new_int``: the values of a many2one field (ids), 0 for none or another type of field;
    * ``old_code``, ``new_code``: the values shown, 1-based positions in ``labels``, 0 for none.

    ``labels`` (a tuple of str) is no column: the distinct labels the codes point to.
    """

    res_id: np.ndarray
    field_id: np.ndarray
    old_int: np.ndarray
    new_int: np.ndarray
    old_code: np.ndarray
    new_code: np.ndarray
    labels: tuple = ()

    @classmethod
    def concatenate(cls, *parts):
        """One :class:`TrackingCells` of several, their labels put end to end (codes shifted to match)."""
        if not parts:
            return cls(*([np.zeros(0, dtype=np.int64)] * len(cls.column_names())))
        offsets = np.cumsum([0] + [len(part.labels) for part in parts[:-1]]).tolist()
        columns = {
            name: np.concatenate([
                arrays.shift_codes(getattr(part, name), offset) if name.endswith("_code") else getattr(part, name)
                for part, offset in zip(parts, offsets, strict=True)])
            for name in cls.column_names()}
        return cls(**columns, labels=tuple(label for part in parts for label in part.labels))


@dataclasses.dataclass(frozen=True, eq=False)
class Notes(Columns):
    """Notes to post in the chatter of leads, one per row.

    * ``res_id``: the lead; ``body``: str, the note's body;
    * ``partner_id``: the partner notified in their inbox, 0 for none.
    """

    _DTYPES = {"body": object}

    res_id: np.ndarray
    body: np.ndarray
    partner_id: np.ndarray

    @classmethod
    def silent(cls, res_id, body):
        """Notes that notify no one."""
        return cls(res_id=res_id, body=body, partner_id=np.zeros(len(res_id), dtype=np.int64))


@dataclasses.dataclass(frozen=True, eq=False)
class FieldChanges(Columns):
    """Values of lead fields a pass changed, one row per lead and field: what the passes hand the
    hook ``crm.lead._on_pass_changes`` after their writes.

    * ``lead_id``: (m,) int64;
    * ``field``: (m,) object, the name of the lead's field;
    * ``old_value``, ``new_value``: (m,) object, the values as the lead reads them: an id (0 for
      none) for a many2one, an integer (0 for none), a selection's key (False for none), a
      frozenset of ids for a many2many.
    """

    _DTYPES = {"field": object, "old_value": object, "new_value": object}

    lead_id: np.ndarray
    field: np.ndarray
    old_value: np.ndarray
    new_value: np.ndarray

    @classmethod
    def of_field(cls, field, lead_id, old_value, new_value):
        """The rows of the leads ``lead_id`` whose ``field`` differs from ``old_value`` to
        ``new_value`` (both aligned with ``lead_id``).

        Numbers are compared as arrays, and only the rows that differ become Python values: a
        pass hands every chunk's scores here, of which few change at night.
        """
        if all(isinstance(values, np.ndarray) and values.dtype != object for values in (old_value, new_value)):
            changed = np.asarray(old_value != new_value, dtype=bool)
            old, new = _object_column(old_value[changed]), _object_column(new_value[changed])
        else:
            old, new = _object_column(old_value), _object_column(new_value)
            changed = np.asarray(old != new, dtype=bool)
            old, new = old[changed], new[changed]
        return cls(lead_id=np.asarray(lead_id, dtype=np.int64)[changed], field=np.full(int(changed.sum()), field),
                   old_value=old, new_value=new)

    @classmethod
    def concatenate(cls, *parts):
        """One :class:`FieldChanges` of several, rows in order."""
        if not parts:
            return cls.of_field("", [], [], [])
        return cls(**{name: np.concatenate([getattr(part, name) for part in parts]) for name in cls.column_names()})

    def net(self):
        """The net change of each lead's field over these rows, in the order they first
        changed: the first old value and the last new one; fields back to their first value
        are left out."""
        first_old, last_new = {}, {}
        for key, old, new in zip(zip(self.lead_id.tolist(), self.field.tolist(), strict=True),
                                 self.old_value.tolist(), self.new_value.tolist(), strict=True):
            first_old.setdefault(key, old)
            last_new[key] = new
        keys = [key for key, old in first_old.items() if old != last_new[key]]
        return FieldChanges(
            lead_id=[key[0] for key in keys], field=_object_column([key[1] for key in keys]),
            old_value=_object_column([first_old[key] for key in keys]),
            new_value=_object_column([last_new[key] for key in keys]))


def _object_column(values):
    """``values`` as a 1-D object array, each element a Python value (sets kept whole)."""
    values = values.tolist() if isinstance(values, np.ndarray) else list(values)
    column = np.empty(len(values), dtype=object)
    for position, value in enumerate(values):
        column[position] = value
    return column
