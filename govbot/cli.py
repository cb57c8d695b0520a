"""`govbot`: the command-line tool (database, knowledge base, search, evaluation, service)."""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from core.db import DatabaseError
from core.settings import get_settings
from knowledge.errors import KnowledgeError, ValidationFailed
from teams.errors import DirectoryInvalid, TeamsError

app = typer.Typer(help="Citizen assistant for Vietnam's online public services.",
                  no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
kb_app = typer.Typer(help="Knowledge base: validate, import, publish, versions, index.",
                     no_args_is_help=True)
eval_app = typer.Typer(help="Evaluations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(kb_app, name="kb")
app.add_typer(eval_app, name="eval")
esc_app = typer.Typer(help="Escalations to community digital technology teams.",
                      no_args_is_help=True)
app.add_typer(esc_app, name="escalations")
gw_app = typer.Typer(help="The channel gateway's queue.", no_args_is_help=True)
app.add_typer(gw_app, name="gateway")
teams_app = typer.Typer(help="Community digital technology teams: directory and routing.",
                        no_args_is_help=True)
app.add_typer(teams_app, name="teams")
unresolved_app = typer.Typer(help="Unresolved questions: the queue, KB drafts, regression questions.",
                             no_args_is_help=True)
app.add_typer(unresolved_app, name="unresolved")

Actor = Annotated[str, typer.Option(help="Who makes the change (recorded in the audit trail).")]


def _actor(value: str | None) -> str:
    if value:
        return value
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "cli"


def _fail(message: str, code: int = 1) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def _store():
    from knowledge.store import KnowledgeStore

    settings = get_settings()
    store = KnowledgeStore(settings.resolved_database_url)
    store.check()
    return store


def _guard(fn):
    """Turn the project's errors into one clear message and exit code 1."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (ValidationFailed, DirectoryInvalid) as exc:
            _fail(str(exc))
        except (KnowledgeError, TeamsError, DatabaseError) as exc:
            _fail(f"error: {exc}")

    return wrapper


# --- db ---------------------------------------------------------------------------------


@db_app.command("upgrade")
@_guard
def db_upgrade() -> None:
    """Create or migrate the database schema to the latest version."""
    from sqlalchemy.exc import OperationalError

    from core.db import describe_connection_error, redact_url
    from core.migrate import current_revision, upgrade

    url = get_settings().resolved_database_url
    try:
        upgrade(url)
        typer.echo(f"database {redact_url(url)} at revision {current_revision(url)}")
    except OperationalError as exc:
        raise DatabaseError(describe_connection_error(url, exc)) from exc


# --- kb ---------------------------------------------------------------------------------


@kb_app.command("validate")
@_guard
def kb_validate(path: Path = typer.Argument(..., help="A folder of entry files or one file.")
                ) -> None:
    """Check entry files against the schema without importing them."""
    from knowledge.schema import load_entries

    entries = load_entries(path)
    unverified = sum(len(e.unverified_facts) for e in entries)
    typer.echo(f"ok: {len(entries)} entries valid; {unverified} facts marked unverified")


@kb_app.command("import")
@_guard
def kb_import(
    path: Path = typer.Argument(..., help="A folder (the whole KB) or one entry file."),
    actor: Actor = "",
    note: str = typer.Option("", help="Why (recorded)."),
    publish: bool = typer.Option(False, help="Publish the new version and build its index."),
) -> None:
    """Validate and load entries as a new draft version (the published KB is untouched)."""
    from knowledge.schema import load_entries

    entries = load_entries(path)  # raises before anything is written
    store = _store()
    result = store.import_entries(entries, actor=_actor(actor), note=note,
                                  full_snapshot=path.is_dir())
    if result.unchanged:
        typer.echo("no changes: the knowledge base already has this content")
    else:
        typer.echo(f"draft version {result.version}: {len(result.added)} added, "
                   f"{len(result.changed)} changed, {len(result.removed)} removed")
        for topic, fields in result.changed.items():
            typer.echo(f"  {topic}: {', '.join(fields)}")
    if publish:
        _publish(store, None, _actor(actor), build=True)


def _publish(store, version: int | None, actor: str, build: bool) -> None:
    number = store.publish(version, actor=actor)
    typer.echo(f"published version {number}")
    _sync_unresolved()
    if build:
        _build_index(force=False)


@kb_app.command("publish")
@_guard
def kb_publish(version: int | None = typer.Argument(None, help="Default: the newest draft."),
               actor: Actor = "",
               build: bool = typer.Option(True, help="Build the search index afterwards.")
               ) -> None:
    """Publish a draft: the assistant answers from it once its index is built."""
    _publish(_store(), version, _actor(actor), build)


@kb_app.command("versions")
@_guard
def kb_versions(as_json: bool = typer.Option(False, "--json")) -> None:
    """List knowledge-base versions."""
    rows = [v.as_dict() for v in _store().versions()]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for r in rows:
        typer.echo(f"{r['version']:>4}  {r['status']:<9} {r['entries']:>3} entries  "
                   f"{r['created_at'][:19]}  {r['created_by']}  {r['note']}")


@kb_app.command("history")
@_guard
def kb_history(topic_id: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """Every recorded change of one topic: who, when, what."""
    rows = _store().history(topic_id.upper())
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        typer.echo(f"no history for {topic_id.upper()}")
    for r in rows:
        fields = f" ({', '.join(r['fields'])})" if r["fields"] else ""
        typer.echo(f"{r['at'][:19]}  v{r['version']}  {r['action']:<8} {r['change']:<8} "
                   f"{r['actor']}{fields}")


@kb_app.command("rollback")
@_guard
def kb_rollback(version: int, actor: Actor = "",
                build: bool = typer.Option(True, help="Build the search index afterwards.")
                ) -> None:
    """Publish the content of an older version again (as a new version)."""
    number = _store().rollback(version, actor=_actor(actor))
    typer.echo(f"published version {number} (content of version {version})")
    if build:
        _build_index(force=False)


@kb_app.command("export")
@_guard
def kb_export(directory: Path, version: int | None = typer.Option(None),
              actor: Actor = "") -> None:
    """Write the published (or given) version as YAML files; they import back unchanged."""
    files = _store().export(directory, version, actor=_actor(actor))
    typer.echo(f"wrote {len(files)} files to {directory}")


def _build_index(force: bool) -> None:
    from knowledge.index import build_index

    settings = get_settings()
    snapshot = _store().snapshot()
    report = build_index(snapshot, settings, progress=True, force=force)
    cal = report.calibration
    verb = "reused" if report.reused else "built"
    typer.echo(f"{verb} index {report.name}: {report.passages} passages, model {report.model}, "
               f"{report.seconds:.1f} s; fusion lexical weight {cal.lexical_weight:.2f}, "
               f"min score {cal.min_score:.3f}, margin {cal.margin:.3f} ({cal.fitted_on})")


@kb_app.command("build-index")
@_guard
def kb_build_index(force: bool = typer.Option(False, help="Rebuild even if current.")) -> None:
    """Build the search index of the published version and switch to it atomically."""
    _build_index(force)


@kb_app.command("tune-embeddings")
@_guard
def kb_tune(epochs: int = typer.Option(1, min=1, max=10),
            force: bool = typer.Option(False, help="Retrain even if a tuned model exists.")
            ) -> None:
    """Fine-tune the embedding model on pairs generated from the published KB."""
    from knowledge.tuning import tune_embeddings

    snapshot = _store().snapshot()
    r = tune_embeddings(snapshot, get_settings(), epochs=epochs, progress=True, force=force)
    verb = "reused" if r.reused else f"trained in {r.seconds:.0f} s"
    decision = "used" if r.used else "not used (did not beat the base model)"
    typer.echo(f"tuned model {r.path.name} {verb}: {r.pairs} pairs, {r.steps} steps; "
               f"dev MRR base {r.base_mrr:.3f} -> tuned {r.tuned_mrr:.3f}: {decision}")


@kb_app.command("setup")
@_guard
def kb_setup(actor: Actor = "setup",
             tune: bool = typer.Option(True, help="Fine-tune the embedding model.")) -> None:
    """Everything a fresh machine needs, idempotent: migrate, import, publish, tune, index."""
    from core.migrate import upgrade
    from knowledge.schema import load_entries

    settings = get_settings()
    upgrade(settings.resolved_database_url)
    store = _store()
    entries = load_entries(settings.kb_dir)
    # Files already imported once (as any version) are not imported again: versions made
    # since then in the database (an admin's draft from the unresolved queue, a rollback)
    # stay as they are. Changed files are imported as the whole KB and published.
    imported = store.version_with_content(entries)
    if imported is None:
        result = store.import_entries(entries, actor=actor, note="setup from knowledge/topics",
                                      full_snapshot=True)
        typer.echo(f"imported version {result.version}")
    published = store.published_version()
    if published is None or imported is None:
        store.publish(actor=actor)
    if tune:
        kb_tune(epochs=1, force=False)
    _build_index(force=False)


# --- search, ask, eval, serve -----------------------------------------------------------


def _service():
    from knowledge.service import KnowledgeService

    return KnowledgeService.from_settings()


@app.command("search")
@_guard
def search(as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
           k: int = typer.Option(5, "--k", min=1, max=50)) -> None:
    """Read questions from standard input, one per line; print the ranked topics."""
    service = _service()
    for line in sys.stdin:
        question = line.rstrip("\n")
        result = service.search(question, k=k)
        if as_json:
            sys.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False) + "\n")
        else:
            hits = ", ".join(f"{h.id} {h.score:.3f}" for h in result.results)
            sys.stdout.write(f"{result.status:<10} {hits}  <- {question[:80]}\n")
        sys.stdout.flush()


@app.command("ask")
@_guard
def ask(question: str,
        as_json: bool = typer.Option(False, "--json", help="Also show status and scores.")
        ) -> None:
    """Print the answer the assistant would send."""
    answer = _service().answer(question)
    if as_json:
        typer.echo(json.dumps(answer.as_dict(), ensure_ascii=False, indent=2))
    else:
        typer.echo(answer.text)


@eval_app.command("retrieval")
@_guard
def eval_retrieval(
    file: Path,
    mode: str = typer.Option("hybrid", help="hybrid | lexical | dense"),
    model: str = typer.Option("current", help="current (the index's) | base | tuned"),
    misses: Path = typer.Option(Path("var/eval/misses.jsonl"), help="Where misses go."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Recall@1/3/5, MRR, out-of-scope handling and a per-style breakdown."""
    from knowledge.evaluation import (
        fit_calibration,
        format_report,
        load_questions,
        metrics,
        score_questions,
    )

    settings = get_settings()
    retriever = _retriever_for(model)
    scored = score_questions(retriever, load_questions(file))
    cal = retriever.calibration
    if mode != "hybrid" or model != "current":
        if mode not in {"lexical", "dense", "hybrid"}:
            _fail("mode must be hybrid, lexical or dense")
        weight = {"lexical": 1.0, "dense": 0.0}.get(mode)
        dev = score_questions(retriever, load_questions(settings.dev_set))
        cal = fit_calibration(dev, fixed_weight=weight, source=settings.dev_set.name)
    m = metrics(scored, cal)
    misses.parent.mkdir(parents=True, exist_ok=True)
    with misses.open("w", encoding="utf-8") as f:
        for miss in m["misses"]:
            f.write(json.dumps(miss, ensure_ascii=False) + "\n")
    if as_json:
        typer.echo(json.dumps({k: v for k, v in m.items() if k != "misses"}, indent=2))
    else:
        typer.echo(format_report(m, f"{file} | mode {mode} | model {model} | "
                                    f"lexical weight {cal.lexical_weight:.2f}"))
        typer.echo(f"{len(m['misses'])} misses written to {misses}")


def _retriever_for(model: str):
    from knowledge.dense import resolve_model_path
    from knowledge.index import build_retriever, calibrate, choose_model, load_current
    from knowledge.store import Snapshot

    settings = get_settings()
    _, current = load_current(settings)
    if model == "current":
        return current
    if model == "base":
        path = resolve_model_path(settings.embedding_model)
    elif model == "tuned":
        path, label = choose_model(settings.model_copy(update={"use_tuned_model": True}))
        if not label.startswith("tuned"):
            manifest = settings.models_dir / "tuned" / "current.json"
            if not manifest.exists():
                _fail("no tuned model: run `govbot kb tune-embeddings`")
            path = json.loads(manifest.read_text())["path"]
    else:
        _fail("model must be current, base or tuned")
    entries = [current.entries[i] for i in current.entry_ids]
    snap = Snapshot(current.kb_version or 0, "", entries)
    retriever, _, _ = build_retriever(snap, settings, path)
    retriever.calibration = calibrate(retriever, settings)
    return retriever


@app.command("serve")
@_guard
def serve(host: str | None = typer.Option(None), port: int | None = typer.Option(None)
          ) -> None:
    """Run the gateway: web chat, Telegram/Zalo when configured, search API, /healthz."""
    import uvicorn

    settings = get_settings()
    import logging

    from bot.gateway import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "telegram", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    web = create_app(settings)
    host, port = host or settings.host, port or settings.port
    typer.echo(f"Web chat: http://{'localhost' if host in {'127.0.0.1', '0.0.0.0'} else host}:{port}")
    uvicorn.run(web, host=host, port=port, log_level="warning")


@app.command("doctor")
def doctor() -> None:
    """Check every component (database, index, Rasa, action server, gateway, channels)."""
    from govbot.doctor import describe, run_checks

    report, healthy = describe(run_checks(get_settings()))
    typer.echo(report)
    if not healthy:
        raise typer.Exit(1)


@gw_app.command("failures")
@_guard
def gateway_failures(as_json: bool = typer.Option(False, "--json"),
                     limit: int = typer.Option(50)) -> None:
    """Replies a channel refused (e.g. Zalo outside the 48-hour window) and failed deliveries."""
    from bot.store import GatewayStore

    rows = GatewayStore(get_settings().resolved_database_url).failures(limit)
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for r in rows:
        typer.echo(f"{r['at'][:19]}  {r['kind']:<7} {r['channel']:<8} #{r['id']:<6} {r['error'][:120]}")
    if not rows:
        typer.echo("no failures")


@esc_app.command("list")
@_guard
def escalations_list(as_json: bool = typer.Option(False, "--json"),
                     status: str | None = typer.Option(None, help="open | claimed | resolved")
                     ) -> None:
    """Cases created for the community digital technology teams (redacted)."""
    from actions.records import ConversationRecords
    from core.db import check_schema

    url = get_settings().resolved_database_url
    check_schema(url)
    cases = ConversationRecords(url).escalations(status)
    if as_json:
        typer.echo(json.dumps(cases, ensure_ascii=False, indent=2))
        return
    for c in cases:
        who = f" [{c['claimed_by_name']}]" if c["claimed_by_name"] else ""
        typer.echo(f"#{c['id']:<5} {c['created_at'][:16]}  {c['status']:<8} {c['topic'] or '-':<6} "
                   f"{c['location'][:40]:<40} {c['question'][:60]}{who}")


@esc_app.command("history")
@_guard
def escalations_history(case_id: int, as_json: bool = typer.Option(False, "--json")) -> None:
    """Every state change of one case: what, who, when."""
    from core.db import check_schema
    from teams.cases import Cases

    url = get_settings().resolved_database_url
    check_schema(url)
    events = Cases(url).history(case_id)
    if as_json:
        typer.echo(json.dumps(events, ensure_ascii=False, indent=2))
        return
    for e in events:
        typer.echo(f"{e['at'][:19]}  {e['kind']:<15} {e['actor']}")
    if not events:
        typer.echo(f"no case #{case_id}")


# --- unresolved questions -----------------------------------------------------------------


def _queue():
    from knowledge.unresolved import UnresolvedQueue

    _store()  # the database is reachable and migrated
    return UnresolvedQueue.from_settings(get_settings())


def _sync_unresolved() -> None:
    """Drafts from the queue that are now published: their questions become regression ones."""
    from knowledge.unresolved import regression_file, sync_published

    settings = get_settings()
    path = regression_file(settings)
    try:
        synced = sync_published(settings.resolved_database_url, path)
    except DatabaseError as exc:  # publishing itself succeeded: say what is left to do
        typer.echo(f"warning: unresolved queue not synced: {exc}", err=True)
        return
    for s in synced:
        typer.echo(f"unresolved {s.group_id}: published in version {s.version}; "
                   f"{s.added} regression questions for {s.topic_id} added to {path}")


Status = Annotated[str | None, typer.Option(help="open | resolved | drafted | published")]


@unresolved_app.command("list")
@_guard
def unresolved_list(as_json: bool = typer.Option(False, "--json"), status: Status = None,
                    limit: int = typer.Option(50, min=1, help="Groups shown (text output).")
                    ) -> None:
    """Unresolved questions and negative feedback, similar ones grouped, with the teams' answers."""
    groups = [g.as_dict() for g in _queue().groups(status)]
    if as_json:
        typer.echo(json.dumps(groups, ensure_ascii=False, indent=2))
        return
    if not groups:
        typer.echo("no unresolved questions" + (f" with status {status}" if status else ""))
    for g in groups[:limit]:
        topics = ",".join(t["topic"] for t in g["topics"][:2]) or "-"
        typer.echo(f"{g['id']:<7} {g['status']:<9} {g['count']:>4}x  {g['first_seen'][:10]}.."
                   f"{g['last_seen'][:10]}  {topics:<10} {g['examples'][0][:70]}")
        for r in g["resolutions"][-1:]:
            typer.echo(f"{'':<8}case #{r['case']}: {r['text'][:100]}")
        if g["draft"]:
            d = g["draft"]
            typer.echo(f"{'':<8}{d['kind']} on {d['topic']}, version {d['version']}"
                       + (f", published in {d['published_version']}" if d["published_version"] else ""))
    if len(groups) > limit:
        typer.echo(f"... {len(groups) - limit} more groups (--limit, --json)")


@unresolved_app.command("export")
@_guard
def unresolved_export(file: Path = typer.Argument(..., help="FILE.csv (one row per group) or "
                                                            "FILE.jsonl (groups with their items)."),
                      status: Status = None) -> None:
    """Write the queue to a CSV or JSON Lines file (texts are redacted)."""
    count = _queue().export(file, status)
    typer.echo(f"wrote {count} groups to {file}")


@unresolved_app.command("draft")
@_guard
def unresolved_draft(
    group_id: str = typer.Argument(..., help="A group id from `list` (t12), or a resolved case "
                                             "(case:7)."),
    topic: str = typer.Option(..., help="The topic the change goes to, e.g. S09."),
    faq: bool = typer.Option(False, "--faq", help="Add a FAQ {question, answer}."),
    alias: bool = typer.Option(False, "--alias", help="Add an alias (the question)."),
    question: str | None = typer.Option(None, help="Default: the group's most asked question."),
    answer: str | None = typer.Option(None, help="FAQ answer. Default: the team's resolution."),
    actor: Actor = "",
) -> None:
    """Turn a group (or a resolved case) into a KB draft version; `govbot kb publish` publishes it."""
    if faq == alias:
        _fail("error: give exactly one of --faq and --alias")
    d = _queue().draft(group_id, topic, kind="faq" if faq else "alias", actor=_actor(actor),
                       question=question, answer=answer)
    typer.echo(f"draft version {d.version}: {d.kind} on {d.topic_id} from {d.group_id}")
    for key, value in d.change.items():
        typer.echo(f"  {key}: {value}")
    typer.echo(f"{len(d.questions)} questions become regression questions once it is published; "
               "review with `govbot kb versions`, publish with `govbot kb publish`")


@unresolved_app.command("sync")
@_guard
def unresolved_sync() -> None:
    """Mark drafts the published KB contains as published; add their regression questions."""
    _store()
    _sync_unresolved()
    typer.echo("unresolved queue in sync with the published knowledge base")


# --- teams ------------------------------------------------------------------------------


def _teams():
    from teams.store import TeamStore

    store = TeamStore(get_settings().resolved_database_url)
    store.check()
    return store


@teams_app.command("import")
@_guard
def teams_import(
    file: Path = typer.Argument(..., help="A directory file: .yml/.yaml or .csv (docs/teams.md)."),
    replace: bool = typer.Option(False, "--replace", help="Also remove what the file no longer lists."),
    if_empty: bool = typer.Option(False, "--if-empty", help="Import only into an empty directory."),
) -> None:
    """Validate a directory file and bring the database to its content (idempotent)."""
    from teams.directory import load_directory

    directory = load_directory(file)  # raises before anything is written
    store = _teams()
    if if_empty and (count := store.team_count()):
        typer.echo(f"the directory already has {count} teams: nothing imported (--if-empty)")
        return
    result = store.import_directory(directory, replace=replace)
    if result.unchanged:
        typer.echo("no changes: the directory already has this content")
    else:
        typer.echo("\n".join(result.summary()))
    kept = len(result.provinces.kept) + len(result.communes.kept) + len(result.teams.kept)
    if kept:
        typer.echo(f"{kept} entries not in the file were kept; --replace removes them")


def _team_line(team, hours: bool = True) -> str:
    from teams.hours import describe_hours

    text = (f"{team.name} | chat {team.telegram_chat_id} | {team.phone} | "
            f"{len(team.members)} members")
    return f"{text} | {describe_hours(team.hours)}" if hours else text


@teams_app.command("list")
@_guard
def teams_list(as_json: bool = typer.Option(False, "--json"),
               province: str | None = typer.Option(None, help="Only this province (any spelling).")
               ) -> None:
    """The directory: provinces, communes/wards and their teams."""
    from teams.provinces import resolve

    directory = _teams().load()
    provinces = list(directory.provinces)
    if province:
        current, absorbed_by = resolve(province)
        info = current or absorbed_by
        if info is None:
            _fail(f"error: {province!r} is not one of the 34 provinces and cities")
        provinces = [p for p in provinces if p.code == info.code]
    if as_json:
        data = {"provinces": [p.as_dict() for p in provinces]}
        if not province:
            data = {"central": directory.central.as_dict() if directory.central else None, **data}
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    if not province:
        typer.echo(f"central: {_team_line(directory.central) if directory.central else 'none'}")
    for p in provinces:
        typer.echo(f"{p.label} ({len(p.communes)} communes/wards)")
        for team in p.teams():
            if team.commune_code is None:
                tag = "default" if team is p.default_team else "not the default"
                typer.echo(f"  [{tag}] {_team_line(team)}")
        for c in p.communes:
            where = f"{c.label:<28}"
            if c.team is None:
                typer.echo(f"  {where} no team: goes to the province's default team")
            else:
                tag = " [default]" if c.team is p.default_team else ""
                typer.echo(f"  {where} {_team_line(c.team)}{tag}")
    if not provinces:
        typer.echo("no provinces" + (f" matching {province!r}" if province else
                                     ": run `govbot teams import FILE`"))


@teams_app.command("route")
@_guard
def teams_route(location: str = typer.Argument(..., help='What the citizen typed, e.g. "xa tan lap"'),
                at: str | None = typer.Option(None, help="When (ISO, Vietnam time if no offset); "
                                                         "default now."),
                as_json: bool = typer.Option(False, "--json")) -> None:
    """Which team a citizen's location goes to, and when it works."""
    import datetime as dt

    from teams.hours import describe_hours
    from teams.routing import VIETNAM, Router, describe_opening, is_open, next_opening

    try:
        when = dt.datetime.fromisoformat(at) if at else dt.datetime.now(VIETNAM)
    except ValueError:
        _fail(f"error: --at {at!r} is not an ISO time such as 2026-12-07T09:00")
    when = when if when.tzinfo else when.replace(tzinfo=VIETNAM)
    decision = Router(_teams().load()).route(location)
    team = decision.team
    data = decision.as_dict()
    if team is not None:
        data.update(open=is_open(team, when), next_opening=next_opening(team, when).isoformat())
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    where = decision.commune.label if decision.commune else "-"
    typer.echo(f"level:    {decision.level}\n"
               f"commune:  {where}\n"
               f"province: {decision.province.label if decision.province else '-'}\n"
               f"matched:  {decision.matched_text or '-'}")
    if decision.candidates:
        typer.echo("ambiguous: " + "; ".join(data["candidates"]))
    if team is None:
        typer.echo("team:     none (the directory has no central team: import one)")
        return
    typer.echo(f"team:     {_team_line(team, hours=False)}\n"
               f"hours:    {describe_hours(team.hours)}\n"
               f"open:     {'yes' if data['open'] else 'no'}; next opening "
               f"{describe_opening(team, when)} ({data['next_opening'][:16]})")


@app.command("stack")
def stack(rasa_port: int = typer.Option(5005), actions_port: int = typer.Option(5055),
          web_port: int | None = typer.Option(None)) -> None:
    """Run the whole assistant: action server, Rasa server and the gateway (web chat, and
    Telegram/Zalo when configured); Ctrl-C stops everything."""
    import signal
    import time

    from govbot.processes import StackError, start_action_server, start_gateway, start_rasa

    settings = get_settings()
    port = web_port or settings.port
    running = []
    try:
        typer.echo(f"starting the action server on :{actions_port} ...")
        actions = start_action_server(actions_port)
        running.append(actions)
        typer.echo(f"starting the Rasa server on :{rasa_port} (about 30 s) ...")
        running.append(start_rasa(rasa_port, action_url=actions.url))
        typer.echo(f"starting the gateway on :{port} ...")
        gateway = start_gateway(port, rasa_url=f"http://127.0.0.1:{rasa_port}")
        running.append(gateway)
    except StackError as exc:
        for p in running:
            p.stop()
        _fail(f"error: {exc}")
    channels = ["web chat"] + (["Telegram"] if settings.telegram_enabled else []) + (
        ["Zalo"] if settings.zalo_enabled else [])
    typer.echo(f"\nThe assistant is running ({', '.join(channels)}).\n"
               f"  Web chat:  http://localhost:{port}\n"
               f"  Rasa REST: http://127.0.0.1:{rasa_port}/webhooks/rest/webhook (`govbot chat`)\n"
               f"  Logs:      {gateway.log.parent}/\n"
               "  Check:     govbot doctor\nCtrl-C to stop.")
    def interrupt(signum, frame):  # Ctrl-C, or SIGTERM from a service manager
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    try:
        while all(p.popen.poll() is None for p in running):
            time.sleep(1)
        dead = next(p for p in running if p.popen.poll() is not None)
        typer.echo(f"{dead.name} stopped unexpectedly; see {dead.log}", err=True)
    except KeyboardInterrupt:
        pass
    finally:
        for p in reversed(running):
            p.stop()
        typer.echo("stopped")


@app.command("chat")
def chat(url: str = typer.Option("http://127.0.0.1:5005", help="The Rasa server."),
         sender: str = typer.Option("", help="Conversation id (default: a new one).")) -> None:
    """Talk to the assistant in the terminal through Rasa's REST channel."""
    import uuid

    import httpx

    sender = sender or f"cli:{uuid.uuid4().hex[:8]}"
    typer.echo("Gõ câu hỏi (Ctrl-D để thoát). Nút bấm: gõ số thứ tự.")
    buttons: list[dict] = []
    while True:
        try:
            text = input("> ").strip()
        except (EOFError, KeyboardInterrupt):
            typer.echo("")
            return
        if text.isdigit() and 0 < int(text) <= len(buttons):
            text = buttons[int(text) - 1]["payload"]
        try:
            replies = httpx.post(f"{url}/webhooks/rest/webhook",
                                 json={"sender": sender, "message": text}, timeout=30).json()
        except httpx.HTTPError as exc:
            typer.echo(f"Không kết nối được Rasa ở {url} ({exc}). Chạy `make run` trước.", err=True)
            continue
        buttons = []
        for m in replies:
            if m.get("text"):
                typer.echo(m["text"])
            for b in m.get("buttons", []):
                buttons.append(b)
                typer.echo(f"  [{len(buttons)}] {b['title']}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
