"""The ``proctor`` command line."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import click
from aiohttp import web
from pydantic import ValidationError

from models import utcnow
from proctor.kernel import migrate
from proctor.kernel.calendar import local_text
from proctor.kernel.context import Context, open_context
from proctor.kernel.errors import ProctorError
from proctor.kernel.progress import Reporter
from proctor.kernel.security.pii import existing_secret
from proctor.kernel.settings import Settings


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as e:
        # A mistyped PROCTOR_* variable: name it and what it should be, no traceback.
        lines = [
            f"  PROCTOR_{'_'.join(str(p) for p in err['loc']).upper()}：{err['msg']}"
            f"（当前值 {err.get('input')!r}）"
            for err in e.errors()
        ]
        raise click.ClickException("配置有误：\n" + "\n".join(lines)) from None


# What the databases say when the schema is missing or older than the code: SQLite's
# "no such table/column", PostgreSQL's undefined table (42P01) and column (42703).
_SCHEMA_BEHIND = ("no such table", "no such column")
_SCHEMA_BEHIND_STATES = ("42P01", "42703")


class _Commands(click.Group):
    """The command group; a database without this version's schema is named, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        from sqlalchemy.exc import DBAPIError

        try:
            return super().invoke(ctx)
        except DBAPIError as exc:
            state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
            said = str(exc.orig)
            if state not in _SCHEMA_BEHIND_STATES and not any(m in said for m in _SCHEMA_BEHIND):
                raise
            url = _safe_url(_settings().effective_database_url)
            raise click.ClickException(
                f"数据库 {url} 尚未建表或版本较旧（{exc.orig}）：请先运行 proctor db upgrade"
                "（演示库由 proctor demo 创建，位于数据目录的 demo/ 下）"
            ) from exc


@click.group(cls=_Commands)
def main() -> None:
    """proctor: learning system and attendance anti-fraud service of the cadre academy."""


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations to the configured database."""
    settings = _settings()
    if not settings.database_url:
        settings.ensure_data_dir()
    # Never a new key here: data encrypted by a migration must be readable by the app.
    secret = existing_secret(settings.secret_key, settings.data_dir)
    migrate.upgrade(settings.effective_database_url, secret=secret)
    click.echo(f"数据库已升级到最新版本：{_safe_url(settings.effective_database_url)}")


@db.command("check")
def db_check() -> None:
    """Fail when the models differ from the migrations."""
    diff = migrate.check(_settings().effective_database_url)
    if diff:
        raise click.ClickException(f"模型与迁移不一致：{diff}")
    click.echo("模型与迁移一致")


@db.command("backup")
@click.argument("dest", type=click.Path(dir_okay=False, path_type=Path))
def db_backup(dest: Path) -> None:
    """Copy the embedded SQLite database to DEST while it serves (the key is not copied)."""
    from proctor.kernel.backup import backup_sqlite

    try:
        size = backup_sqlite(_settings().effective_database_url, dest)
    except ProctorError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"已备份到 {dest}（{size} 字节）；密钥不在备份中，请另行保管")


@db.command("partitions")
@click.option(
    "--months-ahead",
    default=2,
    show_default=True,
    help="Months after the current one to create partitions for.",
)
def db_partitions(months_ahead: int) -> None:
    """Create the raw trace's monthly partitions ahead of time (PostgreSQL; idempotent)."""
    from models.db import create_engine
    from proctor.study.partitions import ensure_partitions, list_partitions

    if not 0 <= months_ahead <= 24:
        raise click.BadParameter("须为 0 到 24 之间的整数", param_hint="--months-ahead")
    engine = create_engine(_settings().effective_database_url)

    async def run() -> tuple[list[str], list[str]]:
        try:
            created = await ensure_partitions(engine, utcnow(), months_ahead)
            if engine.dialect.name != "postgresql":
                return created, []
            async with engine.connect() as conn:
                return created, [p.name for p in await list_partitions(conn)]
        except ProctorError as exc:
            raise click.ClickException(exc.message) from exc
        finally:
            await engine.dispose()

    created, names = asyncio.run(run())
    if engine.dialect.name != "postgresql":
        click.echo("SQLite 的心跳表不分区，无需创建")
        return
    click.echo(f"新建分区：{'、'.join(created)}" if created else "分区已齐全，无需新建")
    click.echo(f"现有分区：{'、'.join(names)}")


@db.command("prune-beats")
@click.option("--keep-days", type=int, required=True, help="Days of raw beats to keep online.")
@click.option("--batch", default=10_000, show_default=True, help="Rows deleted per transaction.")
def db_prune_beats(keep_days: int, batch: int) -> None:
    """Remove raw beats older than the kept days; beats that review cases need stay."""
    from models.db import create_engine
    from proctor.study.prune import Pruned, prune_beats

    if keep_days < 1:
        raise click.BadParameter("保留天数须为正整数（至少保留 1 天）", param_hint="--keep-days")
    if batch < 1:
        raise click.BadParameter("每批删除行数须为正整数", param_hint="--batch")
    engine = create_engine(_settings().effective_database_url)

    async def run() -> Pruned:
        try:
            return await prune_beats(engine, utcnow(), keep_days, batch=batch)
        except ProctorError as exc:
            raise click.ClickException(exc.message) from exc
        finally:
            await engine.dispose()

    done = asyncio.run(run())
    click.echo(
        f"已清理 {local_text(done.cutoff)}（北京时间）之前的心跳：删除分区 {len(done.dropped)} 个"
        f"{'（' + '、'.join(done.dropped) + '）' if done.dropped else ''}，删除 {done.deleted} 行；"
        f"审核案件引用的会话保留 {done.kept} 行"
    )


@main.group()
def reports() -> None:
    """Management reports."""


@reports.command("refresh")
@click.option(
    "--year",
    type=click.IntRange(2000, 2100),
    required=True,
    help="Credit year to rebuild the rollup of.",
)
def reports_refresh(year: int) -> None:
    """Rebuild a year's pre-aggregate of the ledger (reports read later entries live)."""
    from proctor.reports.rollup import refresh

    ctx = open_context(_settings())

    async def run() -> int:
        stage = f"重建 {year} 年度报表汇总"
        try:
            with Reporter() as progress:
                progress(stage, 0, 1)
                count = await refresh(ctx, year)
                progress(stage, 1, 1)
                return count
        finally:
            await ctx.close()

    click.echo(f"{year} 年度报表汇总已重建：{asyncio.run(run())} 名学员")


def _safe_url(url: str) -> str:
    # Never print a password that may sit in the URL.
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


@main.group()
def rosters() -> None:
    """Real-name rosters."""


@rosters.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "username", required=True, help="Staff account the batch is uploaded as.")
def rosters_import(path: Path, username: str) -> None:
    """Upload a roster workbook as a pending batch, as a staff member would on the page."""
    from proctor.accounts.service import actor_by_username
    from proctor.rosters.service import upload

    data = path.read_bytes()
    ctx = open_context(_settings())

    async def run() -> tuple[int, int, int]:
        try:
            actor = await actor_by_username(ctx, username)
            with Reporter() as progress:
                done = await upload(ctx, actor, path.name, data, progress)
            return done.batch.id, done.batch.total_rows, done.batch.error_rows
        except ProctorError as exc:
            raise click.ClickException(exc.message) from exc
        finally:
            await ctx.close()

    batch_id, rows, errors = asyncio.run(run())
    click.echo(f"花名册已导入为待审批批次 #{batch_id}：{rows} 行，其中 {errors} 行有误")


@main.command()
@click.option("--demo", is_flag=True, help="Seed the realistic Hunan demo data set.")
@click.option("--learners", default=3000, show_default=True, help="Learners in the demo seed.")
@click.option("--seed", "random_seed", default=2026, show_default=True, help="Random seed.")
def seed(demo: bool, learners: int, random_seed: int) -> None:
    """Seed the database (run `proctor db upgrade` first)."""
    if not demo:
        raise click.UsageError("目前仅支持 --demo")
    from proctor.demo.seed import seed_demo

    ctx = open_context(_settings())

    async def run() -> None:
        try:
            with Reporter() as progress:
                logins = await seed_demo(
                    ctx, learners=learners, random_seed=random_seed, progress=progress
                )
        except ProctorError as exc:
            raise click.ClickException(exc.message) from exc
        finally:
            await ctx.close()
        _print_logins(logins)

    asyncio.run(run())


def _print_logins(logins: list[tuple[str, str, str]]) -> None:
    click.echo("演示账号（用户名 / 密码 / 角色）：")
    for username, password, role in logins:
        click.echo(f"  {username:<24} {password:<14} {role}")


@main.command()
@click.option("--host", default=None, help="Bind address (default PROCTOR_HOST).")
@click.option("--port", default=None, type=int, help="Port (default PROCTOR_PORT).")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Server processes sharing the port (more than one needs PROCTOR_REDIS_URL).",
)
def serve(host: str | None, port: int | None, workers: int) -> None:
    """Serve the web application and API."""
    from proctor.serving import serve as run

    settings = _settings()
    run(settings, host or settings.host, port or settings.port, workers)


@main.command()
@click.option("--port", default=None, type=int, help="Port (default PROCTOR_PORT).")
@click.option("--learners", default=3000, show_default=True, help="Learners in the demo seed.")
@click.option("--no-serve", is_flag=True, help="Prepare the demo database and exit.")
def demo(port: int | None, learners: int, no_serve: bool) -> None:
    """Create a fresh demo database, seed it, and serve it."""
    from proctor.demo.seed import seed_demo
    from proctor.web.app import create_app

    base = _settings()
    if base.database_url:
        raise click.ClickException(
            "proctor demo 会新建一个演示数据库，请勿设置 PROCTOR_DATABASE_URL（演示数据放在数据目录）"
        )
    demo_dir = base.data_dir / "demo"
    # A fresh database every time; generated lesson videos (media/) are kept, they are slow to make.
    for stale in ("proctor.db", "proctor.db-wal", "proctor.db-shm", "secret.key"):
        (demo_dir / stale).unlink(missing_ok=True)
    settings = base.model_copy(update={"data_dir": demo_dir})
    settings.ensure_data_dir()
    click.echo(f"正在创建演示数据库：{demo_dir / 'proctor.db'}")
    migrate.upgrade(settings.effective_database_url)
    ctx = open_context(settings)

    async def prepare() -> list[tuple[str, str, str]]:
        try:
            with Reporter() as progress:
                progress.say(
                    f"正在写入演示数据：{learners} 名学员、机构树与课程，模拟一周学习并运行检测，"
                    "同时生成课程视频（首次约需 2 分钟，之后视频可复用）"
                )
                return await seed_demo(ctx, learners=learners, random_seed=2026, progress=progress)
        finally:
            await ctx.close()

    if shutil.which("ffmpeg") is None:
        # Without it the lessons have no video files; the player says so to the learner.
        click.echo(
            "提示：未找到 ffmpeg，演示课程将没有视频文件，播放页会提示“本讲视频暂时无法播放”。"
            "安装 ffmpeg（如 apt-get install ffmpeg）后重新运行 proctor demo 即可生成课程视频。"
        )
    logins = asyncio.run(prepare())
    port = port or settings.port
    click.echo(f"\n演示站点：http://{settings.host}:{port}/")
    _print_logins(logins)
    if no_serve:
        return
    sys.stdout.flush()
    web.run_app(create_app(settings), host=settings.host, port=port, print=None)


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"日期格式应为 YYYY-MM-DD：{value}") from exc


@main.command()
@click.option("--seed", default=1, show_default=True, help="Random seed (reproducible).")
@click.option("--learners", type=click.IntRange(1, 1_000_000), default=300, show_default=True)
@click.option("--days", type=click.IntRange(1, 366), default=14, show_default=True)
@click.option("--fraud-share", type=click.FloatRange(0.0, 1.0), default=0.2, show_default=True)
@click.option(
    "--labels",
    "labels_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the ground-truth labels (JSON) here; they never enter the database.",
)
def simulate(
    seed: int, learners: int, days: int, fraud_share: float, labels_path: str | None
) -> None:
    """Simulate a population through the real tracker into an empty database."""
    from proctor.simulate.run import SimResult
    from proctor.simulate.run import simulate as run_simulation
    from proctor.simulate.world import NotEmptyDatabase

    ctx = open_context(_settings())

    async def run() -> SimResult:
        try:
            with Reporter() as progress:
                result = await run_simulation(
                    ctx,
                    seed=seed,
                    learners=learners,
                    days=days,
                    fraud_share=fraud_share,
                    progress=progress,
                )
        except NotEmptyDatabase as e:
            raise click.ClickException(str(e)) from None
        finally:
            await ctx.close()
        click.echo(
            f"模拟完成：{len(result.labels)} 名学员，{result.sessions} 个学习会话，{result.beats} 次心跳；"
            f"时段 {result.day0} 起 {result.days} 天"
        )
        return result

    result = asyncio.run(run())
    if labels_path:
        labels = {"labels": result.labels, "variants": result.variants}
        Path(labels_path).write_text(json.dumps(labels, ensure_ascii=False))


@main.command()
@click.option("--start", "start", required=True, help="First day of the period (YYYY-MM-DD).")
@click.option("--end", "end", required=True, help="Last day of the period (YYYY-MM-DD).")
@click.option(
    "--reuse-model", is_flag=True, help="Score with the current model instead of refitting."
)
def detect(start: str, end: str, reuse_model: bool) -> None:
    """Run detection for a period: features, rules, anomaly score; store flags for review."""
    from proctor.detection.artifact import ArtifactMismatch
    from proctor.detection.service import run_detect

    first, last = _date(start), _date(end)
    if last < first:
        raise click.BadParameter("结束日期不能早于开始日期")
    ctx = open_context(_settings())

    async def run() -> None:
        try:
            with Reporter() as progress:
                result = await run_detect(
                    ctx, first, last, retrain=not reuse_model, progress=progress
                )
        except ArtifactMismatch as e:
            # A model saved by an earlier version: say so and how to refit, no traceback.
            raise click.ClickException(str(e)) from None
        finally:
            await ctx.close()
        if result.learners == 0:
            click.echo(f"{first}～{last} 没有已结束的学习会话：无可检测，模型与标记均未改动")
            return
        click.echo(
            f"检测完成：{result.learners} 名学员，标记 {result.flagged} 名待人工审核；模型 {result.model_version}"
            f"（用 {result.labels} 个审核结论训练）；新立案 {result.cases_opened} 件，"
            f"并入已有案件 {result.cases_merged} 件"
        )
        for d in sorted((d for d in result.decisions if d.flagged), key=lambda d: -d.risk)[:15]:
            reasons = "；".join(r["name"] for r in d.rules) or "行为异常（模型评分）"
            click.echo(f"  学员 {d.learner_id:>6}  风险 {d.risk:.2f}  {d.band:<6} {reasons}")

    asyncio.run(run())


@main.group()
def exams() -> None:
    """Online exams: close attempts past their time, run post-exam forensics."""


@exams.command("analyse")
@click.option("--exam", "exam_id", type=int, default=None, help="Analyse this exam now.")
def exams_analyse(exam_id: int | None) -> None:
    """Forensics over closed exam windows (or one exam): flags go to the review queue."""
    from models import utcnow
    from proctor.exams.analysis import analyse_closed, analyse_exam

    ctx = open_context(_settings())

    async def run() -> None:
        try:
            with Reporter() as progress:
                runs = (
                    [await analyse_exam(ctx, exam_id)]
                    if exam_id is not None
                    else await analyse_closed(ctx, utcnow(), progress)
                )
        except ProctorError as exc:
            raise click.ClickException(exc.message) from exc
        finally:
            await ctx.close()
        if not runs:
            click.echo("没有需要分析的考试（考试窗口结束后分析一次）")
        for r in runs:
            click.echo(
                f"考试 #{r.exam_id}《{r.title}》：{r.attempts} 份答卷，检验 {r.pairs_tested} 对，"
                f"标记 {r.flags} 条，新立案 {r.cases_opened} 件"
                + (f"；替换上次分析的 {r.replaced} 条" if r.replaced else "")
                + (f"；{r.already_decided} 项已有审核结论，不再标记" if r.already_decided else "")
            )

    asyncio.run(run())


@main.group()
def xapi() -> None:
    """Learning records to the LRS (xAPI; see docs/xapi.md)."""


def _xapi_context() -> Context:
    settings = _settings()
    if not settings.xapi_endpoint:
        raise click.ClickException("未配置学习记录存储（PROCTOR_XAPI_ENDPOINT），xAPI 未启用")
    return open_context(settings)


@xapi.command("export")
@click.option("--since", "since", required=True, help="First academy day (YYYY-MM-DD).")
def xapi_export(since: str) -> None:
    """Enqueue the statements of study and exams finished since a day (backfill)."""
    from proctor.kernel.calendar import period_bounds
    from proctor.xapi.export import Exported, enqueue_since

    first = _date(since)
    ctx = _xapi_context()

    async def run() -> Exported:
        try:
            return await enqueue_since(ctx, period_bounds(first, first)[0])
        finally:
            await ctx.close()

    done = asyncio.run(run())
    click.echo(
        f"已加入发送队列：{done.statements} 条记录（学习会话 {done.sessions} 个，考试 {done.attempts} 场）"
        + (f"；{done.deferred} 个会话待同课程先前的会话结束后再导出" if done.deferred else "")
    )


@xapi.command("send")
@click.option("--limit", default=10_000, show_default=True, type=click.IntRange(1, 1_000_000))
def xapi_send(limit: int) -> None:
    """Enqueue new results and send what is due to the LRS, once (for cron)."""
    from proctor.xapi.delivery import deliver_pending
    from proctor.xapi.outbox import Backlog, backlog

    ctx = _xapi_context()

    async def run() -> tuple[int, Backlog]:
        try:
            sent = await deliver_pending(ctx, limit)
            async with ctx.db() as s:
                return sent, await backlog(s)
        finally:
            await ctx.close()

    sent, left = asyncio.run(run())
    click.echo(f"本次送达 {sent} 条；累计已送达 {left.sent} 条，待发送 {left.pending} 条")
    if left.failing:
        raise click.ClickException(
            f"{left.failing} 条发送失败，将按退避时间重试；最近错误：{left.last_error}"
        )


@main.command()
@click.option(
    "--seeds",
    default="7101,7102,7103",
    show_default=True,
    help="Comma-separated seeds of the simulated populations (use seeds not looked at before).",
)
@click.option("--seed", type=int, default=None, help="One seed (exam forensics, or a quick run).")
@click.option("--learners", default=240, show_default=True, help="Learners per seed.")
@click.option("--days", default=14, show_default=True)
@click.option(
    "--fraud-share",
    default=0.03,
    show_default=True,
    type=click.FloatRange(0.0, 0.5),
    help="Share of attackers in each population (a realistic base rate is 1-3 %).",
)
@click.option(
    "--jobs",
    default=None,
    type=click.IntRange(1, 8),
    help="Seeds run at once, each in its own process [default: one per core, at most one per seed].",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON only.")
@click.option(
    "--exams", is_flag=True, help="Evaluate exam forensics (copying, response times, proxies)."
)
@click.option(
    "--runs",
    default=3,
    show_default=True,
    type=int,
    help="With --exams: seeds seed, seed+1, … pooled with 95 % intervals.",
)
@click.option(
    "--repeated",
    is_flag=True,
    help="With --exams: also one population over three exams, evidence combined per pair.",
)
@click.option(
    "--keep",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep each seed's simulated database in this new folder (seed-S/sim.db), to examine "
    "a flagged learner afterwards; a population rebuilt from its seed is not the same.",
)
def evaluate(
    seeds: str,
    seed: int | None,
    learners: int,
    days: int,
    fraud_share: float,
    jobs: int | None,
    as_json: bool,
    exams: bool,
    runs: int,
    repeated: bool,
    keep: Path | None,
) -> None:
    """Simulate fresh populations, run detection, and report how well it did."""
    import contextlib
    import tempfile

    try:
        seed_list = [seed] if seed is not None else [int(x) for x in seeds.split(",") if x.strip()]
    except ValueError:
        raise click.BadParameter("种子须为以逗号分隔的整数", param_hint="--seeds") from None
    if not seed_list:
        raise click.BadParameter("至少需要一个种子", param_hint="--seeds")
    if learners < 20 or days < 3:
        raise click.BadParameter("每个种子至少 20 名学员、3 天", param_hint="--learners/--days")
    if keep is not None and keep.exists() and any(keep.iterdir()):
        raise click.BadParameter(f"文件夹 {keep} 已有内容，请指定新的文件夹", param_hint="--keep")
    if exams:
        _evaluate_exams(seed if seed is not None else seed_list[0], as_json, runs, repeated)
        return

    from proctor.evaluation.detection import evaluate as run_evaluation

    if jobs is None:
        jobs = max(1, min(len(seed_list), os.cpu_count() or 1, 8))

    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
    folder = (
        contextlib.nullcontext(str(keep))
        if keep is not None
        else tempfile.TemporaryDirectory(prefix="proctor-eval-")
    )
    with folder as tmp:
        report = run_evaluation(
            _settings(),
            Path(tmp),
            seeds=seed_list,
            learners=learners,
            days=days,
            fraud_share=fraud_share,
            jobs=jobs,
        )
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False))
        return
    _print_detection_report(report)


def _ci(r: dict[str, Any]) -> str:
    rate = "  -  " if r["rate"] is None else f"{r['rate']:.2f}"
    return f"{rate} [{r['ci95'][0]:.2f}, {r['ci95'][1]:.2f}] ({r['k']}/{r['n']})"


def _print_detection_report(report: dict[str, Any]) -> None:
    click.echo(
        f"种子 {','.join(map(str, report['seeds']))}：每个种子 {report['learners']} 名学员 × "
        f"{report['days']} 天，作弊者占 {report['fraud_share']:.0%}（区间为 Wilson 95% 置信区间）"
    )
    click.echo(
        f"全部作弊者召回率 {_ci(report['recall'])}；该比例下精确率 {_ci(report['precision'])}"
    )
    click.echo(f"诚实学员误报率 {_ci(report['honest_fpr'])}")
    click.echo("作弊变体召回率：")
    for name, r in report["variants"].items():
        caught = report.get("caught_by", {}).get(name, {})
        by = "，".join(f"{rule}×{k}" for rule, k in caught.items())
        click.echo(f"  {name:<22}{_ci(r)}" + (f"  由 {by} 发现" if by else ""))
    click.echo("诚实分组误报率：")
    for name, r in report["honest_groups"].items():
        click.echo(f"  {name:<22}{_ci(r)}")
    for name, r in report["habits_flagged"].items():
        click.echo(f"  习惯（不多得学时）{name:<10}被标记（技术类）{_ci(r)}")


def _evaluate_exams(seed: int, as_json: bool, runs: int, repeated: bool = False) -> None:
    from proctor.evaluation.exams import evaluate_exams_seeds

    if runs < 1:
        raise click.UsageError("--runs 至少为 1")
    seeds = [seed + k for k in range(runs)]
    r = evaluate_exams_seeds(seeds, exams=2, sitting_exams=2, hard_exams=1, repeated=repeated)
    if as_json:
        click.echo(json.dumps({"exams": r}, ensure_ascii=False))
        return

    def ci(v: dict[str, Any]) -> str:
        lo, hi = v["ci95"]
        rate = "—" if v["rate"] is None else f"{v['rate']:.3f}"
        return f"{rate}（{v['k']}/{v['n']}，95% 区间 {lo:.3f}–{hi:.3f}）"

    pf = r["pair_fpr"]
    click.echo(
        f"考试数据分析（种子 {', '.join(map(str, seeds))}）：每个种子 2 场分散开考、2 场集中开考"
        f"（10 分钟内全部开考）、1 场较难试卷，每场 300 人 × 40 题"
    )
    click.echo(
        f"  诚实考生对误报率（p < {r['threshold']:g}）：{pf['rate']:.2e}（{pf['k']}/{pf['n']}，"
        f"95% 上限 {pf['ci95'][1]:.2e}）；各种子 "
        + "，".join(f"{x['spread']:.1e}/{x['sitting']:.1e}" for x in r["pair_fpr_per_seed"])
    )
    click.echo("  抄袭 30% 题目时的检出率（分散与集中开考合计）：")
    for mode, v in r["power_30_by_variant"].items():
        click.echo(
            f"    {mode:<22}{ci(v)}；各种子 {v['per_seed']}；其中中高风险 {ci(v['review_band'])}"
        )
    click.echo("  诚实群体被标为中高风险的比例：")
    for name, v in r["honest_groups"].items():
        kinds = "，".join(f"{k} {n}" for k, n in v["kinds"].items() if n)
        click.echo(
            f"    {name:<14}{ci(v)}；任意标记 {v['flagged_any']}{f'（{kinds}）' if kinds else ''}"
        )
    click.echo("  召回率：" + "；".join(f"{k} {ci(v)}" for k, v in r["recall"].items()))
    cp, pk = r["copiers"], r["preknowledge_classification"]
    click.echo(
        f"  抄袭者中被标“疑似事先知道答案” {cp['preknowledge']} 人，其中归为抄袭 "
        f"{cp['preknowledge_as_copying']} 人；事先知道答案者被标 {pk['flagged']} 人，"
        f"仍归为事先知道 {pk['classified_preknowledge']} 人"
    )
    pr = r["precision_at_base_rate"]
    click.echo(
        f"  中高风险标记的精确率（作弊基础比例 1% / 3%）：{pr['0.01']:.3f} / {pr['0.03']:.3f}"
    )
    if r["repeated"]:
        for name, label in (
            ("order_based", "仅顺序类检验"),
            ("all_tests", "全部检验"),
            ("window", "同场同地对方交卷后所填答案，即 C09"),
            ("system", "系统实际效果：任一场单独标记或 C09"),
        ):
            rr = r["repeated"][name]
            click.echo(
                f"  同一批考生连考 3 场、按考生对合并证据（{label}）：诚实考生对误报 {ci(rr['pair_fpr'])}"
            )
            for mode, v in rr["power_30"].items():
                click.echo(f"    {mode:<22}{ci(v)}")
    for name, t in r["targets"].items():
        click.echo(f"  目标 {name}: {t['target']}，{'达标' if t['met'] else '未达标'}")


if __name__ == "__main__":  # pragma: no cover
    main()
