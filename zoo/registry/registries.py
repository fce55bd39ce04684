"""One mmengine Registry per kind of component.

The kinds mmengine's Runner builds itself (models, datasets, transforms, metrics, hooks) are children
of mmengine's root registries under the scope ``zoo``, so a config with ``default_scope='zoo'`` finds
ours first and mmengine's own (optimizers, schedulers, loops) through the parent. The parts a detector
assembles (backbones, necks, heads, losses, decoders) and the exporters have no mmengine counterpart and
stand alone.

Every registry imports ``zoo.registry._autoload`` on first lookup, so ``BACKBONES.build(cfg)`` in a plain
script sees core components and installed plugins without an explicit load call.
"""
from __future__ import annotations

from mmengine.registry import DATASETS as MM_DATASETS
from mmengine.registry import HOOKS as MM_HOOKS
from mmengine.registry import METRICS as MM_METRICS
from mmengine.registry import MODELS as MM_MODELS
from mmengine.registry import OPTIM_WRAPPERS as MM_OPTIM_WRAPPERS
from mmengine.registry import TRANSFORMS as MM_TRANSFORMS
from mmengine.registry import Registry

from ._errors import unknown_component

_AUTOLOAD = ["zoo.registry._autoload"]


class ZooRegistry(Registry):
    """An mmengine Registry whose failed lookups name the closest registered components."""

    def get(self, key):
        """mmengine's lookup, except that a plain name nobody registered is an error naming the close ones:
        mmengine would try to import a module of that name (``type='antigravity'`` imports it)."""
        if isinstance(key, str) and "." not in key and key not in self.all_names():
            raise unknown_component(key, f"{self.scope}::{self.name}", self.all_names())
        return super().get(key)

    def __contains__(self, key) -> bool:
        try:
            return super().get(key) is not None
        except KeyError:
            return False

    def all_names(self) -> list[str]:
        """Names visible from this registry: its own and its parents' (mmengine's built-ins)."""
        self.import_from_location()
        names = set(self._module_dict)
        parent = self.parent
        while parent is not None:
            names.update(parent._module_dict)
            parent = parent.parent
        return sorted(names)

    def own_names(self) -> list[str]:
        self.import_from_location()
        return sorted(self._module_dict)


MODELS = ZooRegistry("model", parent=MM_MODELS, scope="zoo", locations=_AUTOLOAD)
DATASETS = ZooRegistry("dataset", parent=MM_DATASETS, scope="zoo", locations=_AUTOLOAD)
TRANSFORMS = ZooRegistry("transform", parent=MM_TRANSFORMS, scope="zoo", locations=_AUTOLOAD)
METRICS = ZooRegistry("metric", parent=MM_METRICS, scope="zoo", locations=_AUTOLOAD)
HOOKS = ZooRegistry("hook", parent=MM_HOOKS, scope="zoo", locations=_AUTOLOAD)
#: training machinery, not a model part (no `zoo list` kind, no plugin hook attribute): the CPU bf16 wrapper
OPTIM_WRAPPERS = ZooRegistry("optim_wrapper", parent=MM_OPTIM_WRAPPERS, scope="zoo", locations=_AUTOLOAD)

BACKBONES = ZooRegistry("backbone", scope="zoo", locations=_AUTOLOAD)
NECKS = ZooRegistry("neck", scope="zoo", locations=_AUTOLOAD)
HEADS = ZooRegistry("head", scope="zoo", locations=_AUTOLOAD)
LOSSES = ZooRegistry("loss", scope="zoo", locations=_AUTOLOAD)
DECODERS = ZooRegistry("decoder", scope="zoo", locations=_AUTOLOAD)
EXPORTERS = ZooRegistry("exporter", scope="zoo", locations=_AUTOLOAD)

#: kind name (as `zoo list KIND` takes it) -> registry; the order is the data flow's.
ALL = {
    "datasets": DATASETS,
    "transforms": TRANSFORMS,
    "backbones": BACKBONES,
    "necks": NECKS,
    "heads": HEADS,
    "decoders": DECODERS,
    "losses": LOSSES,
    "models": MODELS,
    "metrics": METRICS,
    "hooks": HOOKS,
    "exporters": EXPORTERS,
}


def _scope_the_rest() -> None:
    """Give every other mmengine root registry an empty ``zoo`` child.

    With ``default_scope='zoo'`` the Runner looks for a ``zoo`` child in each registry it builds from
    (loops, optimizers, visualizers, ...) and warns when there is none; an empty child finds mmengine's
    own components through its parent, so the lookup is the same and the warnings go away.
    """
    import mmengine.registry as mm

    ours = {id(reg.parent) for reg in ALL.values() if reg.parent is not None}
    for name in dir(mm):
        root = getattr(mm, name)
        if isinstance(root, Registry) and root.parent is None and id(root) not in ours and "zoo" not in root.children:
            Registry(root.name, parent=root, scope="zoo")


_scope_the_rest()
