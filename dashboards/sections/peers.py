"""Where a municipality stands among others: the peer band on a municipality page (its county and configured peer
groups) and the county page (every municipality of a county side by side). Everything comes from the ingested Brå
indicators (``marts.bra_crime_by_year``, ``marts.ntu_by_year``); the groups and indicators from
``data/config/peers.yaml``. Rules: dashboards/STATISTICS.md, "Peers and the county"."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from dashboards import figures
from dashboards.data import SiteData, feed_label
from dashboards.format import NBSP, fmt_int, fmt_number
from dashboards.render import Block
from dashboards.statistics import bh_adjust, change_signal
from sources.peers import PeerGroup, Peers, load_peers
from sources.policy import Policy
from sources.taxonomy import read_reference

MISSING = "saknas"


@lru_cache(maxsize=1)
def _counties() -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    names, members = {}, {}
    for r in read_reference("municipalities"):
        names[r["county_code"]] = r["county_name"]
        members.setdefault(r["county_code"], []).append(r["municipality_code"])
    return names, {k: tuple(v) for k, v in members.items()}


def county_names() -> dict[str, str]:
    return dict(_counties()[0])


def county_members(county: str) -> tuple[str, ...]:
    return _counties()[1].get(county, ())


def _rates(data: SiteData) -> pd.DataFrame:
    bra = data.marts.get("bra_crime_by_year", pd.DataFrame())
    if bra.empty:
        return bra
    return bra[bra.geography_level == "kommun"]


def band(rates: pd.DataFrame, members: tuple[str, ...], variable: str | None, min_members: int) -> pd.DataFrame:
    """Per year (and per indicator when ``variable`` is None): how many members have a rate (n), and with at least
    ``min_members`` the quartiles of their rates per 100 000 (linear interpolation between order statistics,
    numpy's default) — else NaN, never a band of too few."""
    part = rates[rates.geography_code.isin(members) & rates.per_100k.notna()]
    if variable is not None:
        part = part[part.variable == variable]
    keys = ["year"] if variable is not None else ["variable", "year"]
    columns = keys + ["n", "q25", "median", "q75"]
    if part.empty:
        return pd.DataFrame(columns=columns)
    values = part.assign(per_100k=part.per_100k.astype(float)).groupby(keys).per_100k
    out = values.quantile([0.25, 0.5, 0.75]).unstack()
    out.columns = ["q25", "median", "q75"]
    out["n"] = values.size()
    out.loc[out["n"] < min_members, ["q25", "median", "q75"]] = np.nan
    out = out.reset_index()
    out["year"] = out["year"].astype(int)
    return out[columns]


@dataclass
class Group:
    name: str
    members: tuple[str, ...]
    kind: str          # "län" or "konfigurerad"


def genitive(name: str) -> str:
    """Swedish genitive: Borlänges, but Strängnäs (a name ending in s, x or z takes no extra s)."""
    return name if name[-1:].lower() in ("s", "x", "z") else name + "s"


def groups_for(code: str, peers: Peers) -> list[Group]:
    county = code[:2]
    out = [Group(f"kommunerna i {county_names().get(county, 'länet')}", county_members(county), "län")]
    out += [Group(g.name, g.members, "konfigurerad") for g in peers.groups_of(code)]
    return out


def peer_blocks(data: SiteData, code: str, policy: Policy, peers: Peers | None = None) -> list[Block]:
    """One block per peer group: the municipality's rate per 100 000 against the group's median and middle 50 %,
    for each configured indicator, per year."""
    peers = peers or load_peers()
    rates = _rates(data)
    if rates.empty or not (rates.geography_code == code).any():
        return []
    name = data.municipalities.get(code) or str(rates.loc[rates.geography_code == code, "geography_name"].iloc[0])
    blocks = []
    for i, group in enumerate(groups_for(code, peers)):
        b = band(rates, group.members, None, peers.min_members)
        b = b[b.variable.isin(peers.indicators)]
        own = rates[(rates.geography_code == code) & rates.variable.isin(peers.indicators)]
        own = own[["variable", "year", "per_100k"]].rename(columns={"per_100k": "own"}).astype({"year": int})
        df = b.merge(own, on=["variable", "year"], how="outer")
        with_band = set(df.variable[df["median"].notna()])
        df = df[df.variable.isin(with_band)]
        if df.empty:
            continue
        order = {v: i for i, v in enumerate(peers.indicators)}
        df = df.assign(_o=df.variable.map(order)).sort_values(["_o", "year"]).drop(columns="_o").reset_index(drop=True)
        first, last = int(df.year.min()), int(df.year.max())
        few = sorted(int(y) for y, n in zip(df.year, df.n) if pd.notna(n) and n < peers.min_members)
        table = pd.DataFrame({
            "Indikator": df.variable, "År": df.year.astype(int).astype(str),
            name: [fmt_number(v, 0) if pd.notna(v) else MISSING for v in df.own],
            "Median": [fmt_number(v, 0) if pd.notna(v) else MISSING for v in df["median"]],
            "Mittersta 50 %": [f"{fmt_number(a, 0)}–{fmt_number(b_, 0)}" if pd.notna(a) else MISSING
                               for a, b_ in zip(df.q25, df.q75)],
            "Antal kommuner": [fmt_int(n) if pd.notna(n) else "0" for n in df.n]})
        configured = (" Gruppen är konfigurerad i data/config/peers.yaml (tolkning av vilka kommuner som är "
                      "jämförbara, inte Brås)." if group.kind == "konfigurerad" else "")
        blocks.append(Block(
            id=f"jamforelse-grupp-{i + 1}", section="Jämförelse med andra kommuner",
            title=f"{name} jämfört med {group.name}",
            description=(f"Anmälda brott per 100 000 invånare enligt Brås indikatorer: {genitive(name)} egen linje, "
                         f"medianen (streckad) och det grå bandet där den mittersta hälften av {group.name} ligger (från "
                         "första till tredje kvartilen; kommunen själv ingår). Ett år med färre än "
                         f"{peers.min_members} kommuner med uppgift får inget band"
                         + (f" ({', '.join(map(str, few))})" if few else "") + ". Brå räknar brott i den kommun "
                         "där brottet begicks." + configured),
            figure=figures.make_peer_band_figure(df, name, f"{name} och {group.name}"),
            table=table, source=feed_label("bra_indicators"), period=f"{first}–{last}",
            status="Brås officiella statistik, som den lästs in."))
    return blocks


# ------------------------------------------------------------------------------------------ the county page

def counties_to_publish(data: SiteData) -> list[str]:
    """Counties with at least two municipalities in Brå's indicators (something to compare)."""
    rates = _rates(data)
    if rates.empty:
        return []
    per = rates.groupby(rates.geography_code.str[:2]).geography_code.nunique()
    return sorted(c for c, n in per.items() if n >= 2)


def county_table(data: SiteData, county: str, policy: Policy, peers: Peers | None = None) -> pd.DataFrame:
    """One row per municipality of the county with Brå values: the headline rate in the latest year, the change
    of its count against the year before (the page's signals, Benjamini–Hochberg adjusted together) and the NTU
    item with its interval. Numbers, for sorting and tests; ``county_blocks`` formats them."""
    peers = peers or load_peers()
    rates = _rates(data)
    head = rates[(rates.geography_code.str[:2] == county) & (rates.variable == peers.indicators[0])]
    if head.empty:
        return pd.DataFrame()
    year = int(head.year[head.per_100k.notna()].max())
    now = head[head.year == year].set_index("geography_code")
    before = head[head.year == year - 1].set_index("geography_code")
    codes = sorted(set(now.index))
    rows = []
    for c in codes:
        n_now, n_before = now.crimes.get(c), before.crimes.get(c)
        pop_now = n_now / now.per_100k[c] * 1e5 if pd.notna(n_now) and now.per_100k.get(c) else None
        pop_before = (n_before / before.per_100k[c] * 1e5 if pd.notna(n_before) and before.per_100k.get(c)
                      else None)
        rows.append({"code": c, "name": str(now.geography_name[c]), "year": year, "per_100k": now.per_100k[c],
                     "crimes": n_now, "crimes_before": n_before,
                     "share_now": pop_now / (pop_now + pop_before) if pop_now and pop_before else 0.5})
    out = pd.DataFrame(rows)
    tested = [i for i, r in out.iterrows() if pd.notna(r.crimes) and pd.notna(r.crimes_before)]
    raw = [change_signal(out.crimes[i], out.crimes_before[i], policy, out.share_now[i],
                         policy.dispersion_default).p for i in tested]
    adjusted = dict(zip(tested, bh_adjust(raw)))
    out["signal"] = [change_signal(r.crimes, r.crimes_before, policy, r.share_now, policy.dispersion_default,
                                   p_adjusted=adjusted.get(i),
                                   missing=None if i in adjusted else f"{year - 1} saknas")
                     for i, r in out.iterrows()]
    ntu = data.marts.get("ntu_by_year", pd.DataFrame())
    ntu = ntu[(ntu.variable == peers.ntu_item) & ntu.share_percent.notna()] if not ntu.empty else ntu
    latest = {}
    for c in codes:
        part = ntu[ntu.geography_code == c] if not ntu.empty else ntu
        if not part.empty:
            r = part.sort_values("year").iloc[-1]
            latest[c] = (int(r.year), float(r.share_percent), r.ci_low_percent, r.ci_high_percent)
    out["ntu_year"] = [latest.get(c, (None,) * 4)[0] for c in out.code]
    out["ntu_share"] = [latest.get(c, (None,) * 4)[1] for c in out.code]
    out["ntu_low"] = [latest.get(c, (None,) * 4)[2] for c in out.code]
    out["ntu_high"] = [latest.get(c, (None,) * 4)[3] for c in out.code]
    return out


def county_blocks(data: SiteData, county: str, policy: Policy, peers: Peers | None = None) -> list[Block]:
    peers = peers or load_peers()
    t = county_table(data, county, policy, peers)
    if t.empty:
        return []
    year = int(t.year.iloc[0])
    bra = data.marts["bra_crime_by_year"]
    ref = bra[(bra.year == year) & (bra.variable == peers.indicators[0])]
    references = {f"{n}: {fmt_number(v, 0)}": v for n, v, code in zip(ref.geography_name, ref.per_100k,
                                                                       ref.geography_code)
                  if code in (county, "00")}
    headline = peers.indicators[0]
    blocks = [Block(
        id="lan-anmalda-brott", section="Kommunerna i länet", title=f"{headline} per 100 000 invånare {year}",
        description=("Brås indikatorer för kommuners lägesbild: anmälda brott per 100 000 invånare i den kommun där "
                     "brottet begicks. Prickade linjer: länet och riket. Talen påverkas av anmälningsbenägenhet, "
                     "polisens insatser och av hur många som vistas i kommunen utan att bo där (besöksmål, "
                     "handelsplatser)."),
        figure=figures.make_ranked_bars_figure(t, "per_100k", f"{headline} per 100 000 invånare {year}",
                                               "Per 100 000 invånare", references),
        table=pd.DataFrame({"Kommun": t.name, f"Per 100 000 inv. {year}": [fmt_number(v, 0) for v in t.per_100k],
                            f"Antal {year}": [fmt_int(v) for v in t.crimes]}),
        source=feed_label("bra_indicators"), period=str(year), status="Brås officiella statistik, som den lästs in.")]
    change = pd.DataFrame({
        "Kommun": t.name, f"Antal {year}": [fmt_int(v) for v in t.crimes],
        f"Antal {year - 1}": [fmt_int(v) if pd.notna(v) else MISSING for v in t.crimes_before],
        "Förändring": [s.text() for s in t.signal],
        "Otrygghet (NTU)": [f"{fmt_number(s, 0)}{NBSP}% ({fmt_number(lo, 0)}–{fmt_number(hi, 0)}), {int(y)}"
                            if pd.notna(s) else MISSING
                            for s, lo, hi, y in zip(t.ntu_share, t.ntu_low, t.ntu_high, t.ntu_year)]})
    blocks.append(Block(
        id="lan-oversikt", section="Kommunerna i länet", title=f"Förändring {year - 1}–{year} och otrygghet, per kommun",
        description=("Klicka på en kolumnrubrik för att sortera. Förändringen jämför årets antal anmälda brott med "
                     "föregående års, med hänsyn till befolkningens förändring, och prövas för alla kommuner i länet "
                     f"tillsammans (spridning φ = {fmt_number(policy.dispersion_default, 0)}, standardvärdet: Brås "
                     "årstal har ingen kvartalshistorik att skatta den ur). Otrygghet: andelen (16–84 år) som känner "
                     f"sig otrygg ute sent på kvällen i sitt bostadsområde enligt NTU, med Brås 95 % "
                     "konfidensintervall och det senaste året med uppgift."),
        figure=None, table=change, source=feed_label("bra_indicators"), period=f"{year - 1}–{year}",
        status="Brås officiella statistik, som den lästs in.", sortable=True))
    shown = t[t.ntu_share.notna()]
    if len(shown):
        blocks.append(Block(
            id="lan-otrygghet", section="Kommunerna i länet",
            title=f"{peers.ntu_item} (NTU), med 95 % konfidensintervall",
            description="Brås andel och intervall per kommun, det senaste året med uppgift (året står i tabellen). "
                        "Intervall som överlappar skiljer sig inte säkert åt.",
            figure=figures.make_interval_dots_figure(
                shown.rename(columns={"ntu_share": "share", "ntu_low": "low", "ntu_high": "high"}),
                "Otrygghet ute sent på kvällen (NTU)", "Andel (%)"),
            table=pd.DataFrame({"Kommun": shown.name, "År": shown.ntu_year.astype(int).astype(str),
                                "Andel (%)": [fmt_number(v, 0) for v in shown.ntu_share],
                                "95 % KI": [f"{fmt_number(a, 0)}–{fmt_number(b, 0)}"
                                            for a, b in zip(shown.ntu_low, shown.ntu_high)]}),
            source=feed_label("bra_indicators"), period=f"{int(shown.ntu_year.min())}–{int(shown.ntu_year.max())}",
            status="Brås officiella statistik, som den lästs in."))
    return blocks
