"""Where ``ModelConfigError`` and ``WeightsFileError`` were first defined; they now live in :mod:`zoo.errors`.

Kept so that plugins written against ``from zoo.models.errors import ModelConfigError`` go on working.
"""
from zoo.errors import ModelConfigError
from zoo.errors import PretrainedWeightsError as WeightsFileError

__all__ = ["ModelConfigError", "WeightsFileError"]
