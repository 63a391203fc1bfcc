"""YAML files a maintainer edits (contracts, profiles, expectations, agreements): read with the line of every key,
so the typed models that check them (``sources/schemas.py``; the agreements' checker) can name file, line and key
of a misspelt key (``requried:``) instead of silently ignoring it."""
from __future__ import annotations

from pathlib import Path

import yaml


class FileFormatError(ValueError):
    """A maintainer's file is malformed: names the file, the line and the key."""

    def __init__(self, path: Path | str, line: int | None, key: str, message: str):
        self.path, self.line, self.key, self.message = str(path), line, key, message
        where = f"{self.path}" + (f", rad {line}" if line else "") + (f", fält {key}" if key else "")
        super().__init__(f"{where}: {message}")


class LineMap(dict):
    """A mapping that remembers the line of each key (1-based)."""

    line: int = 0
    key_lines: dict


class _PureLoader(yaml.SafeLoader):
    pass


# libyaml's parser (PyYAML's C extension) when installed: the same nodes and marks, ~20x faster (the agreements,
# contracts and expectations are read on every refresh).
class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    pass


def _construct_mapping(loader, node, deep=False):
    loader.flatten_mapping(node)
    m = LineMap()
    m.line = node.start_mark.line + 1
    m.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in m:
            raise FileFormatError(loader.name, key_node.start_mark.line + 1, str(key), "fältet finns två gånger")
        m[key] = loader.construct_object(value_node, deep=True)
        m.key_lines[key] = key_node.start_mark.line + 1
    return m


for _cls in (_Loader, _PureLoader):
    _cls.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_mapping(path: Path, loader_class: type = _Loader) -> LineMap:
    """The file's top-level mapping, every nested mapping a ``LineMap``."""
    path = Path(path)
    loader = loader_class(path.read_text(encoding="utf-8"))
    loader.name = str(path)
    try:
        doc = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        if loader_class is not _PureLoader:  # the pure loader's wording of the problem, whichever parser is installed
            return read_mapping(path, _PureLoader)
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise FileFormatError(path, line, "", f"filen är inte giltig YAML ({exc.problem})") from exc
    finally:
        loader.dispose()
    if not isinstance(doc, LineMap):
        raise FileFormatError(path, 1, "", "filen ska vara en samling fält (nyckel: värde)")
    return doc
