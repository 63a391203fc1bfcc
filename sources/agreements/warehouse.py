"""Agreements, promises and indicator mappings as warehouse tables in schema ``plan`` (replaced as a whole)."""
from __future__ import annotations

import pandas as pd

from sources.agreements import CADENCE_LABELS, Plan
from sources.agreements.marks import interpretations
from sources.db import run
from sources.meta import registered, transaction


# Columns of every plan table, so that an empty table (e.g. no forums) still has its shape.
COLUMNS = {
    "agreements": ["agreement_id", "title", "municipality_code", "valid_from", "valid_to", "overall_goal", "source"],
    "priority_areas": ["agreement_id", "priority_area_id", "ordinal", "name"],
    "sub_goals": ["agreement_id", "priority_area_id", "sub_goal_id", "ordinal", "text"],
    "forums": ["agreement_id", "forum_id", "name", "cadence"],
    "activities": ["agreement_id", "activity_id", "ordinal", "name", "forum_id", "target_count", "target_per",
                   "lead_party", "responsible"],
    "activity_areas": ["agreement_id", "activity_id", "priority_area_id"],
    "follow_up": ["agreement_id", "ordinal", "what", "method", "responsible", "frequency"],
    "promise_docs": ["promise_doc_id", "title", "municipality_code", "agreement_id", "valid_from", "valid_to",
                     "reporting_forum", "reporting_cadence", "reporting_cadence_label"],
    "promises": ["promise_doc_id", "promise_id", "ordinal", "text"],
    "promise_targets": ["promise_doc_id", "promise_id", "target_id", "text", "party", "target_count", "target_per"],
    "promise_activities": ["promise_doc_id", "promise_id", "agreement_id", "activity_id"],
    # every value the encoding assumes rather than quotes (sources/agreements/README.md, "Said and interpreted")
    "interpretations": ["document_id", "municipality_code", "ordinal", "item_type", "item_id", "item", "field",
                        "field_label", "value", "by_whom", "why"],
    "indicator_map": ["agreement_id", "municipality_code", "priority_area_id", "sub_goal_id", "indicator_id", "ordinal",
                      "label", "kind", "dimension", "value", "rationale", "higher_is_worse"],
}


def plan_frames(plan: Plan) -> dict[str, pd.DataFrame]:
    rows: dict[str, list[dict]] = {k: [] for k in (
        "agreements", "priority_areas", "sub_goals", "forums", "activities", "activity_areas", "follow_up",
        "promise_docs", "promises", "promise_targets", "promise_activities", "indicator_map", "interpretations")}
    for doc_id, d in plan.documents.items():
        mun = str(d["municipality"]["code"])
        for i, r in enumerate(interpretations(d), start=1):
            rows["interpretations"].append({"document_id": doc_id, "municipality_code": mun, "ordinal": i,
                                            "item_type": r["item_type"], "item_id": r["item_id"], "item": r["item"],
                                            "field": r["field"], "field_label": r["field_label"], "value": r["value"],
                                            "by_whom": r["by"], "why": r["why"]})
        if d["kind"] == "samverkansöverenskommelse":
            rows["agreements"].append({"agreement_id": doc_id, "title": d["title"], "municipality_code": mun,
                                       "valid_from": d["valid_from"], "valid_to": d["valid_to"],
                                       "overall_goal": d.get("overall_goal"), "source": d.get("source")})
            for i, a in enumerate(d.get("priority_areas") or [], start=1):
                rows["priority_areas"].append({"agreement_id": doc_id, "priority_area_id": a["id"], "ordinal": i,
                                               "name": a["name"]})
                for j, g in enumerate(a.get("sub_goals") or [], start=1):
                    rows["sub_goals"].append({"agreement_id": doc_id, "priority_area_id": a["id"],
                                              "sub_goal_id": g["id"], "ordinal": j, "text": g["text"]})
            for f in d.get("forums") or []:
                rows["forums"].append({"agreement_id": doc_id, "forum_id": f["id"], "name": f["name"],
                                       "cadence": f["cadence"]})
            for i, a in enumerate(d.get("activities") or [], start=1):
                target = a.get("target") or {}
                lead = [r["party"] for r in a["responsible"] if r.get("lead")] or [a["responsible"][0]["party"]]
                rows["activities"].append({
                    "agreement_id": doc_id, "activity_id": a["id"], "ordinal": i, "name": a["name"],
                    "forum_id": a.get("forum"), "target_count": target.get("count"), "target_per": target.get("per"),
                    "lead_party": lead[0], "responsible": ", ".join(
                        r.get("role") or r["party"] for r in a["responsible"])})
                for area in a["priority_areas"]:
                    rows["activity_areas"].append({"agreement_id": doc_id, "activity_id": a["id"],
                                                   "priority_area_id": area})
            for i, f in enumerate(d.get("follow_up") or [], start=1):
                rows["follow_up"].append({"agreement_id": doc_id, "ordinal": i, "what": f["what"],
                                          "method": f["method"], "responsible": f["responsible"],
                                          "frequency": f["frequency"]})
        else:
            rows["promise_docs"].append({"promise_doc_id": doc_id, "title": d["title"], "municipality_code": mun,
                                         "agreement_id": d.get("agreement"), "valid_from": d["valid_from"],
                                         "valid_to": d["valid_to"],
                                         "reporting_forum": (d.get("reporting") or {}).get("forum"),
                                         "reporting_cadence": (d.get("reporting") or {}).get("cadence"),
                                         "reporting_cadence_label": CADENCE_LABELS.get(
                                             (d.get("reporting") or {}).get("cadence"))})
            for i, p in enumerate(d["promises"], start=1):
                rows["promises"].append({"promise_doc_id": doc_id, "promise_id": p["id"], "ordinal": i,
                                         "text": p["text"]})
                for t in p.get("targets") or []:
                    rows["promise_targets"].append({
                        "promise_doc_id": doc_id, "promise_id": p["id"], "target_id": t["id"], "text": t["text"],
                        "party": t.get("party"), "target_count": t.get("count"), "target_per": t.get("per")})
                for a in p.get("activities") or []:
                    rows["promise_activities"].append({"promise_doc_id": doc_id, "promise_id": p["id"],
                                                       "agreement_id": d.get("agreement"), "activity_id": a})
    for agreement_id, indicators in plan.indicators.items():
        mun = str(plan.documents[agreement_id]["municipality"]["code"])
        for i, ind in enumerate(indicators, start=1):
            for dim, values in ind["filter"].items():
                for v in values:
                    rows["indicator_map"].append({
                        "agreement_id": agreement_id, "municipality_code": mun,
                        "priority_area_id": ind["priority_area"], "sub_goal_id": ind.get("sub_goal"),
                        "indicator_id": ind["id"], "ordinal": i, "label": ind["label"], "kind": ind["kind"],
                        "dimension": dim, "value": str(v), "rationale": ind["rationale"],
                        "higher_is_worse": ind.get("higher_is_worse", True)})
    out = {}
    for name, r in rows.items():
        frame = pd.DataFrame(r, columns=COLUMNS[name])
        for col in ("target_count", "ordinal"):
            if col in frame.columns:
                frame[col] = frame[col].astype("Int64")
        out[name] = frame
    return out


def load_plan_tables(con, plan: Plan) -> dict[str, int]:
    frames = plan_frames(plan)
    with transaction(con):
        run(con, "CREATE SCHEMA IF NOT EXISTS plan")
        for name, frame in frames.items():
            with registered(con, "_plan_frame", frame):
                run(con, f'CREATE OR REPLACE TABLE plan."{name}" AS SELECT * FROM _plan_frame')
    return {k: len(v) for k, v in frames.items()}
