"""Named, trained models: the index of what exists, the cache of what is downloaded, and name -> file."""
from zoo.modelfile.weights import WeightsFileError, is_weights_file, read_weights, write_weights

from .cache import DownloadError, fetch, zoo_home
from .index import ModelEntry, ModelIndexError, get_entry, model_entries, model_names
from .resolve import resolve_if_name, resolve_model

__all__ = ["DownloadError", "ModelEntry", "ModelIndexError", "WeightsFileError", "fetch", "get_entry",
           "is_weights_file", "model_entries", "model_names", "read_weights", "resolve_if_name", "resolve_model",
           "write_weights", "zoo_home"]
