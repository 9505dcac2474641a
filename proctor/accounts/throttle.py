"""How many sign-in attempts a source address and an account get.

Two guards, in this order:

1. Per source address: at most ``address_failures`` failed sign-ins in a window, whatever
   the accounts tried; beyond that the address gets 429 with ``Retry-After`` before any
   account is looked at, so one address cannot try passwords across many accounts (or
   lock many learner accounts).
2. Per account: a learner account locks after ``account_failures`` wrong passwords from
   anywhere. A staff account locks only after wrong passwords from ``account_failures``
   different addresses: one address cannot lock an administrator or a reviewer out of
   the academy's work (guessing from it is slowed by the first guard instead), while a
   guessing campaign spread over many addresses still locks the account.

The counts live in :mod:`proctor.kernel.security.windows` (Redis when configured), so every
server process sees the same numbers.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass

from proctor.kernel.context import Context
from proctor.kernel.errors import ProctorError, Unavailable
from proctor.kernel.security.windows import Windows, WindowsUnavailable
from proctor.kernel.settings import Settings

log = logging.getLogger(__name__)


class TooManyAttempts(ProctorError):
    """Too many failed sign-ins from this address; try again after ``retry_after`` s."""

    status = 429
    code = "too_many_requests"


@dataclass(frozen=True)
class LoginLimits:
    """The numbers of both guards (from the settings)."""

    address_failures: int
    address_window_s: int
    account_failures: int
    lock_s: int


def address_key(ip: str) -> str:
    """The unit an address budget belongs to: an IPv4 address, or an IPv6 /64 network.

    One IPv6 host is usually given a whole /64, so counting single v6 addresses would give
    an attacker billions of budgets.
    """
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    return str(address)


def lock_needed(*, staff: bool, failures: int, addresses: int, limits: LoginLimits) -> bool:
    """Whether an account's wrong passwords so far lock it.

    ``failures`` counts wrong passwords since the last success or lock (learners);
    ``addresses`` counts the different addresses they came from within the lock period
    (staff).
    """
    return (addresses if staff else failures) >= limits.account_failures


def login_limits(settings: Settings) -> LoginLimits:
    """Both sign-in guards' numbers as configured."""
    return LoginLimits(
        address_failures=settings.login_address_max_failures,
        address_window_s=settings.login_address_window_minutes * 60,
        account_failures=settings.login_max_failures,
        lock_s=settings.login_lock_minutes * 60,
    )


def throttle_of(ctx: Context) -> LoginThrottle:
    """The sign-in guards over the process's shared counters."""
    return LoginThrottle(ctx.windows, login_limits(ctx.settings))


class LoginThrottle:
    """The shared counters behind both guards."""

    def __init__(self, windows: Windows, limits: LoginLimits) -> None:
        self._windows = windows
        self.limits = limits

    @staticmethod
    def _address(address: str) -> str:
        return f"addr:{address}"

    @staticmethod
    def _staff(account_id: int) -> str:
        return f"staff:{account_id}"

    async def admit(self, address: str) -> None:
        """Reserve one failure of the address's budget, or refuse with TooManyAttempts.

        Reserving before the password is checked (and giving it back on success) keeps
        concurrent attempts from all passing a check made before any of them failed.
        """
        try:
            count = await self._windows.hit(self._address(address), self.limits.address_window_s)
        except WindowsUnavailable as exc:
            raise _unavailable() from exc
        if count.hits > self.limits.address_failures:
            minutes = -(-count.resets_in_s // 60)
            raise TooManyAttempts(
                f"登录失败次数过多，请 {minutes} 分钟后再试", retry_after=count.resets_in_s
            )

    async def succeeded(self, address: str, account_id: int) -> None:
        """A correct password: the reserved failure is given back, staff counts start over.

        The session exists by now; a store that fails here costs the address one failure
        of its budget, which is no reason to withhold the session.
        """
        try:
            await self._windows.undo(self._address(address))
            await self._windows.clear(self._staff(account_id))
        except WindowsUnavailable as exc:
            log.warning("sign-in counters not reset after a success: %s", exc)

    async def staff_failure(self, account_id: int, address: str) -> int:
        """Note a wrong staff password; the number of addresses that failed this period."""
        try:
            return await self._windows.add(self._staff(account_id), address, self.limits.lock_s)
        except WindowsUnavailable as exc:
            raise _unavailable() from exc

    async def staff_locked(self, account_id: int) -> None:
        """The account locked: its address count starts over when the lock ends."""
        try:
            await self._windows.clear(self._staff(account_id))
        except WindowsUnavailable as exc:
            raise _unavailable() from exc


def _unavailable() -> Unavailable:
    # Refuse rather than stop counting: a store that cannot be reached must not switch
    # the guards off.
    return Unavailable("登录服务暂时不可用，请稍后再试", retry_after=5)
