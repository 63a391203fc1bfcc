"""The lägesbild page's mapping sections in order (crime, EST, concern reports, survey); the agreement section is
added by the page or pack that shows it."""
from __future__ import annotations

from dashboards.data import SiteData
from dashboards.render import Block
from dashboards.sections.common import area_names
from dashboards.sections.concern import concern_blocks
from dashboards.sections.crime import crime_blocks
from dashboards.sections.est import est_blocks
from dashboards.sections.maps import map_blocks
from dashboards.sections.peers import peer_blocks
from dashboards.sections.regso import regso_blocks
from dashboards.sections.survey import survey_blocks
from dashboards.signals import SignalFamily
from sources.policy import Policy


def municipality_blocks(data: SiteData, code: str, policy: Policy, family: SignalFamily | None = None) -> list[Block]:
    names = area_names(data, code)
    return (crime_blocks(data, code, names, policy, family) + map_blocks(data, code, policy)
            + regso_blocks(data, code, policy)
            + peer_blocks(data, code, policy) + est_blocks(data, code)
            + concern_blocks(data, code, policy) + survey_blocks(data, code, names, policy))
