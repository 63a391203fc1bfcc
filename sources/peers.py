"""Peer comparison configuration (data/config/peers.yaml): which Brå indicators, which peer groups. The values
compared always come from the ingested Brå indicators."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from sources.schemas import validate
from sources.yamlfile import read_mapping

PEERS_FILE = Path(__file__).resolve().parents[1] / "data" / "config" / "peers.yaml"


class _Group(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    members: list[str] = Field(min_length=1)


class _Peers(BaseModel):
    model_config = ConfigDict(extra="forbid")
    indicators: list[str] = Field(min_length=1)
    ntu_item: str
    min_members: int = Field(default=5, ge=3)
    groups: list[_Group] = []


@dataclass(frozen=True)
class PeerGroup:
    name: str
    members: tuple[str, ...]


@dataclass(frozen=True)
class Peers:
    indicators: tuple[str, ...]
    ntu_item: str
    min_members: int
    groups: tuple[PeerGroup, ...]

    def groups_of(self, code: str) -> list[PeerGroup]:
        return [g for g in self.groups if code in g.members]


@lru_cache(maxsize=None)
def load_peers(path: Path = PEERS_FILE) -> Peers:
    spec = validate(_Peers, read_mapping(path), path)
    return Peers(indicators=tuple(spec.indicators), ntu_item=spec.ntu_item, min_members=spec.min_members,
                 groups=tuple(PeerGroup(g.name, tuple(str(m).zfill(4) for m in g.members)) for g in spec.groups))
