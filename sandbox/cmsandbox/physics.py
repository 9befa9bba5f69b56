"""The physics of a simulated hypervisor: pure arithmetic, no Nova imports.

Units: memory in MiB, rates in MiB/s, time in seconds. Durations are real seconds, so the
collection's timeouts mean the same thing in the sandbox as on real hardware.

Live migration is modelled as libvirt/QEMU pre-copy: round 0 sends all memory in use (M);
while a round is sent the guest dirties pages at rate d, so round i+1 has to send
d * (size_i / B) = rho * size_i, with rho = d / B (capped by M: a guest cannot dirty more than
it uses). The migration converges when what is left can be sent within the downtime budget;
with rho >= 1 it never does, and only a force-complete (post-copy) or an abort ends it.
"""

# Sandbox-only server metadata keys that shape a guest's behaviour.
META_RAM_USED = "sim:ram_used_mb"
META_DIRTY_RATE = "sim:dirty_mbps"
META_DISK_USED = "sim:disk_used_gb"
META_WORKING_SET = "sim:working_set_mb"   # hot pages: a round cannot dirty more than these

# Nova's [libvirt] defaults (nova/conf/libvirt.py); the sandbox writes them into nova.conf.
NOVA_LIBVIRT_DEFAULTS = {
    "live_migration_downtime": 500,           # ms, the downtime libvirt is allowed at the end
    "live_migration_downtime_steps": 10,
    "live_migration_downtime_delay": 75,      # s per GiB of data to transfer
    "live_migration_completion_timeout": 800,  # s per GiB of data to transfer
    "live_migration_timeout_action": "abort",
    "live_migration_permit_post_copy": False,
    "live_migration_permit_auto_converge": False,
}

# Durations only: the rules are the same in every profile.
PROFILES = {
    "quick": {"reboot_s": 10.0, "boot_s": 3.0, "shutdown_s": 2.0,
              "report_interval": 5, "service_down_time": 20,
              "graceful_shutdown_timeout": 5, "sync_power_state_interval": 15},
    # A server-class host: firmware POST plus OS boot is minutes; a guest takes up to Nova's
    # graceful_shutdown_timeout (60 s) to shut down; Nova's own service heartbeat defaults.
    "production": {"reboot_s": 240.0, "boot_s": 30.0, "shutdown_s": 60.0,
                   "report_interval": 10, "service_down_time": 60,
                   "graceful_shutdown_timeout": 60, "sync_power_state_interval": 600},
}
# Settings both profiles share that differ from Nova's defaults: (name, sandbox, Nova's default).
# The first two only shorten the sandbox's own start-up; shelved_offload_time is a cloud setting
# operators choose (shelve keeps the guest's host until an explicit offload).
FIXED_SHORTCUTS = [
    ("periodic_fuzzy_delay", 0, 60),
    ("discover_hosts_in_cells_interval", 10, -1),
    ("shelved_offload_time", -1, 0),
]
DEFAULT_PROFILE = "quick"

DEFAULT_PHYSICS = {
    "bandwidth_mbps": 1250.0,        # about 10 Gbit/s per host
    "default_dirty_mbps": 40.0,
    "ram_used_fraction": 0.5,        # of the flavor's RAM, clamped to [min, max] below
    "min_ram_used_mb": 1024,
    "max_ram_used_mb": 8192,
    "disk_used_fraction": 0.1,       # of the flavor's root disk
    "post_copy_switch_ms": 80.0,     # pause while the guest's CPU state moves over
    "boot_s": 3.0,
    "shutdown_s": 2.0,
    "glance_mbps": 400.0,            # snapshot upload / image download rate
    "progress_interval_s": 0.5,
}


def guest_profile(flavor_ram_mb, flavor_root_gb, metadata, physics=None):
    """Memory in use, dirty rate and disk in use of a guest, from its metadata or the defaults."""
    p = dict(DEFAULT_PHYSICS, **(physics or {}))
    metadata = metadata or {}

    def number(key, default):
        try:
            value = float(metadata.get(key, default))
        except (TypeError, ValueError):
            return float(default)
        return value if 0 <= value < float("inf") else float(default)

    default_ram = min(max(flavor_ram_mb * p["ram_used_fraction"], p["min_ram_used_mb"]),
                      p["max_ram_used_mb"], flavor_ram_mb)
    ram_used = min(number(META_RAM_USED, default_ram), float(flavor_ram_mb))
    return {
        "ram_used_mb": ram_used,
        "dirty_mbps": number(META_DIRTY_RATE, p["default_dirty_mbps"]),
        "disk_used_gb": number(META_DISK_USED, flavor_root_gb * p["disk_used_fraction"]),
        "working_set_mb": min(number(META_WORKING_SET, ram_used), ram_used),
    }


class Precopy(object):
    """State of one live migration (optional block copy, then pre-copy), advanced by elapsed time.

    ``disk_mb``: the root disk's allocated size when storage is not shared (block migration): it
    is copied at the link speed before the first memory round, as QEMU's drive-mirror does before
    the RAM iterations. ``schedule``: Nova's downtime ramp (see ``downtime_steps``); without it the
    allowed downtime is ``max_downtime_ms`` from the start. ``working_set_mb``: the guest's hot
    pages; a round cannot dirty more than them (default: all memory in use).
    """

    def __init__(self, memory_mb, dirty_mbps, bandwidth_mbps, max_downtime_ms, disk_mb=0.0,
                 schedule=None, working_set_mb=None):
        if bandwidth_mbps <= 0:
            raise ValueError("bandwidth must be positive")
        self.total = float(memory_mb)
        self.dirty = float(dirty_mbps)
        self.bandwidth = float(bandwidth_mbps)
        self.schedule = list(schedule) if schedule else None
        self.fixed_downtime_s = max_downtime_ms / 1000.0
        self.working_set = self.total if working_set_mb is None else min(float(working_set_mb), self.total)
        self.disk_total = float(disk_mb)
        self.disk_pending = self.disk_total
        self.disk_seconds = 0.0
        self.elapsed = 0.0
        self.processed = 0.0
        self.round = 0
        self.round_size = self.total
        self.round_time = 0.0
        self.pending = self.total
        self.paused = False
        self.converged = self.disk_pending <= 0 and self._fits(self.total)

    @property
    def max_downtime_s(self):
        """The downtime libvirt allows now (it rises along the ramp)."""
        if self.schedule is None:
            return self.fixed_downtime_s
        return allowed_downtime_ms(self.schedule, self.elapsed) / 1000.0

    def _fits(self, size_mb):
        return size_mb / self.bandwidth <= self.max_downtime_s

    @property
    def rho(self):
        return self.dirty / self.bandwidth

    @property
    def remaining(self):
        return self.pending

    @property
    def rest_mb(self):
        """Everything still to send: the rest of the disk, then the current memory round."""
        return self.disk_pending + self.pending

    def set_bandwidth(self, bandwidth_mbps):
        if bandwidth_mbps > 0:
            self.bandwidth = float(bandwidth_mbps)

    def fold_dirtied(self):
        """At a switch-over (a pause, or post-copy) the pages the guest dirtied since this round
        began, among those already sent in it, must go again with the rest of the round."""
        if self.disk_pending > 0:
            return
        sent = self.round_size - self.pending
        self.pending += min(sent, self.dirty * self.round_time)
        self.round_size = self.pending
        self.round_time = 0.0

    def pause(self):
        """The guest stops (force-complete without post-copy): it dirties nothing any more."""
        self.fold_dirtied()
        self.paused = True
        self.dirty = 0.0

    def advance(self, seconds):
        """Send for ``seconds``; returns True once the rest fits the downtime allowed now."""
        while seconds > 1e-12 and not self.converged:
            if self.disk_pending > 0:
                step = min(seconds, self.disk_pending / self.bandwidth)
                sent = min(self.disk_pending, step * self.bandwidth)
                self.disk_pending -= sent
                self.disk_seconds += step
                self.elapsed += step
                seconds -= step
                if self.disk_pending <= 1e-9:
                    self.disk_pending = 0.0
                    # memory starts now; a paused guest that fits already has nothing to iterate
                    self.converged = self._fits(self.pending)
                continue
            step = min(seconds, self.pending / self.bandwidth)
            sent = min(self.pending, step * self.bandwidth)
            self.pending -= sent
            self.processed += sent
            self.round_time += step
            self.elapsed += step
            seconds -= step
            if self.pending <= 1e-9:
                self._next_round()
        return self.converged

    def _next_round(self):
        dirtied = min(self.working_set, self.dirty * self.round_time)
        self.round += 1
        self.round_time = 0.0
        self.round_size = self.pending = dirtied
        if self._fits(dirtied):
            self.converged = True

    def stop_and_copy_s(self):
        """Downtime of the final pause: what is left, sent while the guest does not run."""
        return self.rest_mb / self.bandwidth

    def post_copy_s(self):
        """After a switch to post-copy the rest is sent once (the guest already runs remotely)."""
        return self.pending / self.bandwidth


def precopy_duration(memory_mb, dirty_mbps, bandwidth_mbps, max_downtime_ms, max_rounds=1000,
                     disk_mb=0.0, schedule=None):
    """Time until convergence plus the final pause, or None if it never converges (the block
    copy of ``disk_mb`` first, and Nova's ramp ``schedule``, as ``Precopy`` takes them)."""
    model = Precopy(memory_mb, dirty_mbps, bandwidth_mbps, max_downtime_ms, disk_mb=disk_mb,
                    schedule=schedule)
    elapsed = 0.0
    while not model.converged:
        if model.round >= max_rounds or (model.rho >= 1 and model.round > 2):
            return None
        step = model.rest_mb / model.bandwidth
        model.advance(step)
        elapsed += step
    return elapsed + model.stop_and_copy_s()


def transfer_s(size_gb, rate_mbps):
    return size_gb * 1024.0 / rate_mbps if rate_mbps > 0 else 0.0


# ---------------------------------------------------------------- Nova's downtime ramp

def migration_data_gb(flavor_ram_mb, disk_gbs=()):
    """Data Nova's libvirt driver counts for a live migration (driver.py _live_migration_data_gb):
    the flavor's RAM in GiB and each block-migrated disk's size in GiB, each at least 2."""
    ram_gb = max(flavor_ram_mb / 1024.0, 2.0)
    return ram_gb + sum(max(float(size), 2.0) for size in disk_gbs)


def downtime_steps(data_gb, downtime_ms=500, steps=10, delay_s=75):
    """(seconds, max downtime in ms) pairs, as nova/virt/libvirt/migration.py downtime_steps: a
    linear ramp from downtime/steps to downtime in ``steps`` steps, one every delay * data_gb s."""
    delay = int(delay_s * data_gb)
    base = downtime_ms / float(steps)
    offset = (downtime_ms - base) / steps
    return [(int(delay * i), int(base + offset * i)) for i in range(steps + 1)]


def allowed_downtime_ms(schedule, elapsed_s):
    """The downtime in force ``elapsed_s`` into a migration (migration.py update_downtime: the last
    step whose time has passed; the monitor's first tick, right after the start, sets step 0)."""
    current = schedule[0][1]
    for at, value in schedule:
        if elapsed_s > at:
            current = value
    return current


def completion_timeout_s(data_gb, per_gb_s=800):
    """driver.py: live_migration_completion_timeout is per GiB of the same data; 0 disables."""
    return int(per_gb_s * data_gb)


# ---------------------------------------------------------------- force-complete, post-copy

def force_complete_mode(permit_post_copy, block_migration=False):
    """What force-complete does (migration.py run_tasks): a switch to post-copy where it is
    permitted, else the guest is paused until the copy ends."""
    return "postcopy" if permit_post_copy else "paused"


def paused_downtime_s(rest_mb, bandwidth_mbps):
    """A paused guest dirties nothing: it is unavailable while the rest goes at the link speed."""
    return rest_mb / float(bandwidth_mbps)


def post_copy_slowdown(rest_mb, memory_mb, bandwidth_mbps):
    """After a switch the guest runs on the destination while the rest arrives on demand: it is
    slowed (remote page faults) for the time the rest takes. At the switch a share rest/memory of
    its pages is still remote; that share falls to zero as the rest arrives, so on average half."""
    seconds = rest_mb / float(bandwidth_mbps)
    remote = min(1.0, rest_mb / float(memory_mb)) if memory_mb > 0 else 0.0
    return {"slowdown_s": seconds, "remote_fraction_at_switch": remote,
            "mean_remote_fraction": remote / 2.0}


# ---------------------------------------------------------------- storage and links

def block_migration(shared_storage):
    """block_migration: auto means a block migration when the hosts share no instance storage."""
    return not shared_storage


def offload_keeps_disk(shared_storage):
    """Shelve-offload destroys the guest with its local disks; only shared storage keeps them."""
    return bool(shared_storage)


def fair_share_mbps(link_mbps, out_count, in_count, dst_link_mbps=None):
    """Each host's link is shared fairly by its concurrent transfers, in and out (full duplex:
    out_count transfers leave the source, in_count arrive at the destination, this one included):
    a transfer gets the smaller of its source's and its destination's share. ``dst_link_mbps``:
    the destination's link when it differs from the source's."""
    dst_link = link_mbps if dst_link_mbps is None else dst_link_mbps
    return min(link_mbps / max(out_count, 1), dst_link / max(in_count, 1))


def profile_settings(name):
    if name not in PROFILES:
        raise ValueError("unknown profile %r (known: %s)" % (name, ", ".join(sorted(PROFILES))))
    return dict(PROFILES[name])


def shortcuts(name):
    """Durations of profile ``name`` shorter than on a production cloud: (key, value, production)."""
    mine, real = profile_settings(name), PROFILES["production"]
    return [(key, mine[key], real[key]) for key in sorted(real) if mine[key] != real[key]]
