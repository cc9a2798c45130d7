"""ICT sizing of a user environment and the eligibility check, by documented rules.

Rules (also in ``docs/portal.md``); every cap that bites is written into ``Sizing.notes``:

1. Cores wanted: per processing need, ``light`` 2, ``moderate`` 4, ``heavy`` 8 cores for the first
   user, plus half that for each further user; capped by the support level's total cores.
2. VMs: one per user up to the level's ``max_vms`` and never more VMs than cores / 2; the cores
   are split evenly (``cores_per_vm = cores // vms``).
3. RAM per core: 4 GB, 8 GB for ``heavy`` processing (SAR chains such as SNAP's need memory).
4. Disk: 2.5 x the expected data volume (inputs + intermediates + outputs), at least 0.1 TB,
   rounded up to 0.1 TB; capped by the level's disk.
5. Duration: the requested months, at least 1, capped by the level's duration.
6. Support hours: the level's base hours + 2 per further user, capped by the level's maximum.

Support levels (RUS glossary): basic ~2 cores / 1 TB / 3 months; R&D ~5 cores / 10 TB /
6 months; proficient ~20 cores / 50 TB / 12 months.

Eligibility: Copernicus data must be the main source: the user must say so and at least one of
the datasets must be a Copernicus product (Sentinel missions or a Copernicus service).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from rus.services.errors import ValidationFailed


@dataclass(frozen=True)
class LevelCaps:
    """Upper bounds of one support level."""

    label: str
    cores: int
    disk_tb: float
    months: int
    max_vms: int
    base_support_hours: int
    max_support_hours: int


LEVELS: dict[str, LevelCaps] = {
    "basic": LevelCaps("basic", 2, 1.0, 3, 1, 4, 8),
    "rnd": LevelCaps("R&D", 5, 10.0, 6, 2, 8, 20),
    "proficient": LevelCaps("proficient", 20, 50.0, 12, 5, 16, 40),
}
PROCESSING_CORES = {"light": 2, "moderate": 4, "heavy": 8}
COPERNICUS_PREFIXES = ("S1", "S2", "S3", "S5P", "S6", "SENTINEL", "CLMS", "CAMS", "C3S", "CMEMS")
DISK_FACTOR = 2.5


@dataclass(frozen=True)
class SizingInput:
    """What the sizing rules read from a service request."""

    support_level: str
    processing_needs: str = "light"
    data_volume_gb: float = 0.0
    requested_months: int = 3
    n_users: int = 1


@dataclass(frozen=True)
class Sizing:
    """An environment size: ``vms`` x ``cores_per_vm`` cores, RAM, disk, duration, support."""

    vms: int
    cores_per_vm: int
    ram_per_core_gb: int
    disk_tb: float
    duration_months: int
    support_hours: int
    notes: tuple[str, ...] = field(default=())

    @property
    def total_cores(self) -> int:
        """Cores over all VMs."""
        return self.vms * self.cores_per_vm

    @property
    def total_ram_gb(self) -> int:
        """RAM over all VMs, in GB."""
        return self.total_cores * self.ram_per_core_gb


def level_caps(level: str) -> LevelCaps:
    """The caps of ``level`` (``basic``, ``rnd`` or ``proficient``)."""
    try:
        return LEVELS[level]
    except KeyError:
        raise ValidationFailed(
            f"unknown support level {level!r}; expected one of {', '.join(LEVELS)}"
        ) from None


def _round_up(value: float, step: float) -> float:
    return round(math.ceil(value / step - 1e-9) * step, 3)


def propose_sizing(inp: SizingInput) -> Sizing:
    """Apply the documented rules to ``inp`` and return a sizing capped by its support level."""
    caps = level_caps(inp.support_level)
    if inp.processing_needs not in PROCESSING_CORES:
        raise ValidationFailed(
            f"unknown processing need {inp.processing_needs!r}; "
            f"expected one of {', '.join(PROCESSING_CORES)}"
        )
    if inp.n_users < 1 or inp.requested_months < 1 or inp.data_volume_gb < 0:
        raise ValidationFailed("users and months must be >= 1 and the data volume >= 0")
    notes: list[str] = []
    base = PROCESSING_CORES[inp.processing_needs]
    wanted = base + (inp.n_users - 1) * max(1, base // 2)
    cores = min(wanted, caps.cores)
    if cores < wanted:
        notes.append(f"{wanted} cores wanted, capped at {caps.cores} ({caps.label} level)")
    vms = max(1, min(inp.n_users, caps.max_vms, cores // 2))
    cores_per_vm = max(1, cores // vms)
    ram = 8 if inp.processing_needs == "heavy" else 4
    disk_wanted = max(0.1, _round_up(inp.data_volume_gb * DISK_FACTOR / 1000.0, 0.1))
    disk = min(disk_wanted, caps.disk_tb)
    if disk < disk_wanted:
        notes.append(f"{disk_wanted:g} TB disk wanted, capped at {caps.disk_tb:g} TB")
    months = min(max(1, inp.requested_months), caps.months)
    if months < inp.requested_months:
        notes.append(f"{inp.requested_months} months asked, capped at {caps.months}")
    hours_wanted = caps.base_support_hours + 2 * (inp.n_users - 1)
    hours = min(hours_wanted, caps.max_support_hours)
    return Sizing(vms, cores_per_vm, ram, disk, months, hours, tuple(notes))


def validate_sizing(sizing: Sizing, level: str) -> Sizing:
    """Check an adjusted sizing against ``level``'s caps; raise ``ValidationFailed`` if over."""
    caps = level_caps(level)
    problems = []
    if min(sizing.vms, sizing.cores_per_vm, sizing.ram_per_core_gb, sizing.duration_months) < 1:
        problems.append("VMs, cores per VM, RAM per core and duration must be >= 1")
    if sizing.total_cores > caps.cores:
        problems.append(f"{sizing.total_cores} cores exceed the {caps.label} cap of {caps.cores}")
    if sizing.vms > caps.max_vms:
        problems.append(f"{sizing.vms} VMs exceed the {caps.label} cap of {caps.max_vms}")
    if not 0 < sizing.disk_tb <= caps.disk_tb:
        problems.append(f"disk {sizing.disk_tb:g} TB outside (0, {caps.disk_tb:g}] TB")
    if sizing.duration_months > caps.months:
        problems.append(f"{sizing.duration_months} months exceed the cap of {caps.months}")
    if not 0 <= sizing.support_hours <= caps.max_support_hours:
        problems.append(f"support hours outside [0, {caps.max_support_hours}]")
    if sizing.ram_per_core_gb > 32:
        problems.append("RAM per core above 32 GB")
    if problems:
        raise ValidationFailed(
            "sizing refused: " + "; ".join(problems) + " (raise the support level first)"
        )
    return replace(sizing, notes=sizing.notes)


def is_copernicus_dataset(name: str) -> bool:
    """Whether a dataset name denotes a Copernicus product (``S2 L2A``, ``Sentinel-1 GRD``...)."""
    key = name.strip().upper().replace("-", "").replace("_", "").replace(" ", "")
    return key.startswith(tuple(p.replace("-", "") for p in COPERNICUS_PREFIXES))


def check_eligibility(datasets: list[str], copernicus_main_source: bool) -> tuple[bool, str]:
    """Return ``(eligible, note)``: Copernicus data must be the main source of the project."""
    copernicus = [d for d in datasets if is_copernicus_dataset(d)]
    if not copernicus:
        return False, "no Copernicus dataset listed: Copernicus data must be the main source"
    if not copernicus_main_source:
        return False, "the project states that Copernicus data is not its main source"
    return True, f"eligible: Copernicus datasets {', '.join(copernicus)}"
