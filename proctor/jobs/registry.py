"""The scheduled jobs: what each one does, and when (from the settings).

Each body calls the same service function as its CLI command, so cron can still run the
command instead (with the job switched off here by an empty time or a zero interval).
"""

from __future__ import annotations

import datetime as dt

from proctor.jobs import runs
from proctor.jobs.schedule import Daily, Every, Job
from proctor.kernel.calendar import ACADEMY_TZ, study_year
from proctor.kernel.context import Context
from proctor.kernel.metrics import FLAGS_RAISED
from tracker.service import Tracker
from tracker.sweep import sweep


def jobs(ctx: Context, tracker: Tracker) -> list[Job]:
    """The jobs the settings switch on."""
    st = ctx.settings

    async def detect(ctx: Context, slot: dt.datetime) -> str:
        from proctor.detection.service import run_detect

        last = slot.astimezone(ACADEMY_TZ).date() - dt.timedelta(days=1)
        first = last - dt.timedelta(days=st.job_detect_days - 1)
        result = await run_detect(ctx, first, last)
        FLAGS_RAISED.labels("detection").inc(result.flagged)
        return (
            f"{first}～{last}：{result.learners} 名学员，标记 {result.flagged} 名；"
            f"新立案 {result.cases_opened} 件，并入 {result.cases_merged} 件"
        )

    async def exams(ctx: Context, slot: dt.datetime) -> str:
        from proctor.exams.analysis import analyse_closed

        done = await analyse_closed(ctx, dt.datetime.now(dt.UTC))
        flags = sum(r.flags for r in done)
        FLAGS_RAISED.labels("exams").inc(flags)
        return f"分析 {len(done)} 场考试，标记 {flags} 条，新立案 {sum(r.cases_opened for r in done)} 件"

    async def reports(ctx: Context, slot: dt.datetime) -> str:
        from proctor.reports.rollup import refresh

        year = study_year(slot)
        return f"{year} 年度报表汇总已重建：{await refresh(ctx, year)} 名学员"

    async def session_sweep(ctx: Context, slot: dt.datetime) -> str:
        now_ms = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
        done = await sweep(
            tracker.db,
            tracker.store,
            now_ms,
            expire_ms=tracker.policy.expire_ms,
            grace_ms=tracker.sweep_grace_ms,
        )
        return f"补写摘要 {done.summaries} 个，结束失联会话 {done.orphans} 个"

    async def partitions(ctx: Context, slot: dt.datetime) -> str:
        from proctor.study.partitions import ensure_partitions
        from proctor.study.prune import prune_beats

        now = dt.datetime.now(dt.UTC)
        created = await ensure_partitions(ctx.engine, now)
        text = f"新建分区 {len(created)} 个"
        if st.beats_keep_days:
            pruned = await prune_beats(ctx.engine, now, st.beats_keep_days)
            text += f"；清理心跳：删除分区 {len(pruned.dropped)} 个、{pruned.deleted} 行"
        return text + f"；删除过期运行记录 {await runs.prune(ctx, now)} 条"

    async def reminders(ctx: Context, slot: dt.datetime) -> str:
        from proctor.reminders.sending import send_due_reminders

        return f"发送提醒 {await send_due_reminders(ctx, dt.datetime.now(dt.UTC))} 条"

    async def xapi(ctx: Context, slot: dt.datetime) -> str:
        from proctor.xapi.delivery import deliver_pending

        return f"送达学习记录 {await deliver_pending(ctx, st.xapi_batch * 10)} 条"

    out = [
        Job("sweep", "学习会话清扫", Every(st.sweep_interval_s), session_sweep),
    ]
    for name, title, at, body in (
        ("detect", "异常学习检测（前一时段）", st.job_detect_at, detect),
        ("reports", "报表汇总重建", st.job_reports_at, reports),
        ("partitions", "心跳分区维护", st.job_partitions_at, partitions),
        ("reminders", "待办提醒发送", st.job_reminders_at, reminders),
    ):
        if at:
            out.append(Job(name, title, Daily(at), body))
    if st.job_exams_every_minutes:
        out.append(
            Job(
                "exams", "考试数据分析（窗口结束后）", Every(st.job_exams_every_minutes * 60), exams
            )
        )
    if st.job_xapi_every_minutes and st.xapi_endpoint:
        out.append(Job("xapi", "学习记录发送（xAPI）", Every(st.job_xapi_every_minutes * 60), xapi))
    return out
