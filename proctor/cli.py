"""The ``proctor`` command line."""

from __future__ import annotations

import asyncio
import sys

import click
from aiohttp import web

from proctor import migrate
from proctor.context import open_context
from proctor.settings import Settings


def _settings() -> Settings:
    return Settings()


@click.group()
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
    migrate.upgrade(settings.effective_database_url)
    click.echo(f"数据库已升级到最新版本：{_safe_url(settings.effective_database_url)}")


@db.command("check")
def db_check() -> None:
    """Fail when the models differ from the migrations."""
    diff = migrate.check(_settings().effective_database_url)
    if diff:
        raise click.ClickException(f"模型与迁移不一致：{diff}")
    click.echo("模型与迁移一致")


def _safe_url(url: str) -> str:
    # Never print a password that may sit in the URL.
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


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
            logins = await seed_demo(ctx, learners=learners, random_seed=random_seed)
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
def serve(host: str | None, port: int | None) -> None:
    """Serve the web application and API."""
    from proctor.web.app import create_app

    settings = _settings()
    web.run_app(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        print=lambda _msg: click.echo(
            f"proctor 已启动：http://{host or settings.host}:{port or settings.port}/"
        ),
    )


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
            return await seed_demo(ctx, learners=learners, random_seed=2026)
        finally:
            await ctx.close()

    click.echo("正在写入演示数据并生成课程视频（首次约需 1 分钟）…")
    logins = asyncio.run(prepare())
    port = port or settings.port
    click.echo(f"\n演示站点：http://{settings.host}:{port}/")
    _print_logins(logins)
    if no_serve:
        return
    sys.stdout.flush()
    web.run_app(create_app(settings), host=settings.host, port=port, print=None)


if __name__ == "__main__":  # pragma: no cover
    main()
