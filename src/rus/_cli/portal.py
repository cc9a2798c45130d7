"""``rus serve``, ``rus db upgrade``, ``rus admin create``, ``rus users list|set-role``."""

from __future__ import annotations

import typer

from rus._cli.common import console, echo_json


def register(app: typer.Typer) -> None:
    """Add the portal commands to ``app``."""
    app.command("serve")(serve)
    db = typer.Typer(help="Database maintenance.")
    db.command("upgrade")(db_upgrade)
    app.add_typer(db, name="db")
    admin = typer.Typer(help="Administrator accounts.")
    admin.command("create")(admin_create)
    app.add_typer(admin, name="admin")
    users = typer.Typer(help="Portal accounts.")
    users.command("list")(users_list)
    users.command("set-role")(users_set_role)
    app.add_typer(users, name="users")


def prepare_portal_database() -> str | None:
    """Migrate the database and create the first admin if none exists.

    Returns the new admin's random password (to print once), or None if an admin exists.
    """
    from rus.db.base import make_engine, make_sessionmaker, session_scope
    from rus.db.migrate import upgrade
    from rus.services.accounts import ensure_admin
    from rus.settings import get_settings

    settings = get_settings()
    upgrade(settings.sqlalchemy_url)
    engine = make_engine(settings.sqlalchemy_url)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            return ensure_admin(session)
    finally:
        engine.dispose()


def print_admin_password(password: str | None, base_url: str) -> None:
    """Tell the operator how to log in the first time (the password is not stored anywhere)."""
    from rus.services.accounts import ADMIN_EMAIL

    if password is None:
        console.print(f"Portal: {base_url} (log in with an existing admin account)")
        return
    console.print(
        f"[bold]First start: created the admin account[/]\n"
        f"  URL:      {base_url}/login\n  email:    {ADMIN_EMAIL}\n  password: {password}\n"
        "[yellow]This random password is shown only now; change it after logging in "
        "(Forgot password, or 'rus admin create --reset').[/]"
    )


def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to bind (loopback by default)."),
    port: int = typer.Option(8000, help="TCP port."),
    workers: int = typer.Option(1, help="uvicorn worker processes."),
) -> None:
    """Start the portal (migrates the database and creates the first admin on first start)."""
    import os

    import uvicorn

    from rus.settings import get_settings

    settings = get_settings()
    if "base_url" not in settings.model_fields_set:  # links in mails point at this server
        settings = settings.model_copy(update={"base_url": f"http://{host}:{port}"})
        os.environ["RUS_BASE_URL"] = settings.base_url  # for --workers > 1
    password = prepare_portal_database()
    print_admin_password(password, settings.base_url)
    if workers > 1:
        uvicorn.run("rus.portal.asgi:app", host=host, port=port, workers=workers, log_level="info")
        return
    from rus.portal.app import create_app

    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


def db_upgrade() -> None:
    """Apply every database migration (SQLite under RUS_HOME or RUS_DATABASE_URL)."""
    from rus.db.migrate import upgrade
    from rus.settings import get_settings

    url = get_settings().sqlalchemy_url
    upgrade(url)
    console.print(f"database at {url.split('@')[-1]} is up to date")


def admin_create(
    email: str = typer.Option("admin@localhost", help="Email of the admin account."),
    reset: bool = typer.Option(False, "--reset", help="Give an existing account a new password."),
) -> None:
    """Create (or reset) an admin account with a random password, printed once."""
    import secrets

    from rus.db.base import make_engine, make_sessionmaker, session_scope
    from rus.db.migrate import upgrade
    from rus.db.models.accounts import User
    from rus.services.accounts import find_user, hash_password, normalise_email
    from rus.services.errors import Conflict
    from rus.settings import get_settings

    settings = get_settings()
    upgrade(settings.sqlalchemy_url)
    engine = make_engine(settings.sqlalchemy_url)
    password = secrets.token_urlsafe(15)
    address = normalise_email(email) if "@localhost" not in email else email.lower()
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            user = find_user(session, address)
            if user is not None and not reset:
                raise Conflict(f"{address} already exists; use --reset for a new password")
            if user is None:
                user = User(email=address, password_hash="", full_name="RUS administrator")
                session.add(user)
            user.password_hash = hash_password(password)
            user.role, user.is_verified, user.is_active = "admin", True, True
    finally:
        engine.dispose()
    console.print(f"admin {address}: password [bold]{password}[/] (shown only now)")


def users_list(
    limit: int = typer.Option(50, help="How many (newest first)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List portal accounts."""
    from sqlalchemy import select

    from rus.db.base import make_engine, make_sessionmaker
    from rus.db.models.accounts import User
    from rus.settings import get_settings

    engine = make_engine(get_settings().sqlalchemy_url)
    with make_sessionmaker(engine)() as session:
        rows = session.scalars(select(User).order_by(User.id.desc()).limit(limit)).all()
        data = [
            {"id": u.id, "email": u.email, "role": u.role, "verified": u.is_verified} for u in rows
        ]
    engine.dispose()
    if as_json:
        echo_json(data)
        return
    for row in data:
        console.print(f"{row['id']:>6}  {row['role']:<9} {row['email']}", highlight=False)


def users_set_role(
    email: str = typer.Argument(..., help="Account email."),
    role: str = typer.Argument(..., help="user, operator, trainer or admin."),
) -> None:
    """Change an account's role."""
    from rus.db.base import make_engine, make_sessionmaker, session_scope
    from rus.db.models.accounts import ROLES
    from rus.services.accounts import find_user
    from rus.services.errors import NotFound, ValidationFailed
    from rus.settings import get_settings

    if role not in ROLES:
        raise ValidationFailed(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    engine = make_engine(get_settings().sqlalchemy_url)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            user = find_user(session, email)
            if user is None:
                raise NotFound(f"no account with email {email}")
            user.role = role
    finally:
        engine.dispose()
    console.print(f"{email} is now {role}")
