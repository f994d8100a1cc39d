from . import main
from . import segment
