"""The `lagesbild` verbs about the agreements and the coordinator's text: ``plan validate``, ``plan show`` and
``draft`` (messages in Swedish, like every verb; pipelines/cli.py wires them in)."""
from __future__ import annotations

import logging
import sys
from pathlib import Path

from pipelines.home import Home

log = logging.getLogger("lagesbild")


def cmd_draft(args, home: Home) -> int:
    """Draft per municipality into <home>/analys/<code>-<period>.md, where the packs read the analysis."""
    from dashboards.data import WarehouseNotReady
    from dashboards.draft import write_drafts
    from pipelines.warehouse import read_published
    from sources.policy import load_policy
    from sources.quarter import Quarter, QuarterError

    try:
        period = Quarter.parse(args.period)
    except QuarterError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    try:
        data = read_published(home)
    except WarehouseNotReady as exc:
        print(str(exc), file=sys.stderr)
        return 2
    codes = [args.municipality.zfill(4)] if args.municipality else None
    results = write_drafts(data, period, home.analysis, load_policy(), codes, force=args.force)
    for path, written in results:
        log.info("Utkast skrivet: %s" if written else "%s finns redan och skrivs inte över (--force ersätter den).",
                 path)
    return 0 if any(written for _, written in results) else 2


def cmd_plan_validate(args, home: Home) -> int:
    from sources.agreements import validate_file

    failed = 0
    for f in args.files:
        path = Path(f)
        if not path.exists():
            print(f"Hittar inte {f}.", file=sys.stderr)
            failed += 1
            continue
        errors = validate_file(path)
        if errors:
            failed += 1
            for e in errors:
                print(str(e), file=sys.stderr)
        else:
            log.info("%s: giltig.", path)
    return 2 if failed else 0


def cmd_plan_show(args, home: Home) -> int:
    from sources.agreements import CADENCE_LABELS, PlanInvalid, load_folder
    from sources.agreements.marks import interpretation, interpretations, interpreted_mark, shown_value

    try:
        plan = load_folder(Path(args.folder)) if args.folder else load_folder()
    except PlanInvalid as exc:
        print(str(exc), file=sys.stderr)
        return 2
    docs = [d for d in plan.documents.values() if not args.municipality
            or str(d["municipality"]["code"]) == args.municipality.zfill(4)]
    if not docs:
        log.info("Inga överenskommelser eller medborgarlöften för kommun %s.", args.municipality)
        return 0
    for d in sorted(docs, key=lambda d: (str(d["municipality"]["code"]), d["kind"], str(d["valid_from"]))):
        log.info("%s (%s %s)", d["title"], d["municipality"]["name"], d["municipality"]["code"])
        log.info("  %s, gäller %s%s – %s%s. Parter: %s", d["kind"], d["valid_from"], interpreted_mark(d, "valid_from"),
                 d["valid_to"], interpreted_mark(d, "valid_to"), ", ".join(p["name"] for p in d["parties"]))
        if d.get("overall_goal"):
            log.info("  Övergripande mål: %s", " ".join(str(d["overall_goal"]).split()))
        indicators = plan.indicators.get(str(d["id"]), [])
        for a in d.get("priority_areas") or []:
            log.info("  ▸ %s", " ".join(str(a["name"]).split()))
            for g in a.get("sub_goals") or []:
                log.info("      delmål: %s", g["text"])
            acts = [x for x in d.get("activities") or [] if a["id"] in x["priority_areas"]]
            if acts:
                log.info("      %d aktiviteter", len(acts))
            for ind in indicators:
                if ind["priority_area"] == a["id"]:
                    log.info("      indikator: %s", ind["label"])
        for a in d.get("activities") or []:
            if interpretation(a, "responsible"):
                log.info("  aktivitet: %s – ansvariga %s%s", " ".join(str(a["name"]).split())[:70],
                         shown_value(d, "responsible", a["responsible"]), interpreted_mark(a, "responsible"))
        for f in d.get("forums") or []:
            log.info("  forum: %s (%s%s)", f["name"], CADENCE_LABELS[f["cadence"]], interpreted_mark(f, "cadence"))
        for p in d.get("promises") or []:
            log.info("  ▸ löfte: %s", " ".join(str(p["text"]).split()))
            for t in p.get("targets") or []:
                log.info("      mål: %s%s", " ".join(str(t["text"]).split())[:100],
                         f" (antal: {t['count']}{interpreted_mark(t, 'count')})" if t.get("count") else "")
        rep = d.get("reporting")
        if rep:
            log.info("  rapportering: %s, %s%s", rep["forum"], CADENCE_LABELS[rep["cadence"]],
                     interpreted_mark(rep, "cadence"))
        for f in d.get("follow_up") or []:
            log.info("  uppföljning: %s – %s (%s%s); ansvarig: %s%s", f["what"], " ".join(str(f["method"]).split()),
                     CADENCE_LABELS[f["frequency"]], interpreted_mark(f, "frequency"), f["responsible"],
                     interpreted_mark(f, "responsible"))
        marks = interpretations(d)
        if marks:
            log.info("  %d uppgifter är tolkningar (markerade [tolkning: …]); resten är dokumentets ord.", len(marks))
        log.info("")
    return 0
