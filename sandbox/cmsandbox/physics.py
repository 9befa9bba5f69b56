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
    }


class Precopy(object):
    """State of one pre-copy live migration, advanced by elapsed time."""

    def __init__(self, memory_mb, dirty_mbps, bandwidth_mbps, max_downtime_ms):
        if bandwidth_mbps <= 0:
            raise ValueError("bandwidth must be positive")
        self.total = float(memory_mb)
        self.dirty = float(dirty_mbps)
        self.bandwidth = float(bandwidth_mbps)
        self.max_downtime_s = max_downtime_ms / 1000.0
        self.processed = 0.0
        self.round = 0
        self.round_size = self.total
        self.pending = self.total
        self.converged = self.total / self.bandwidth <= self.max_downtime_s

    @property
    def rho(self):
        return self.dirty / self.bandwidth

    @property
    def remaining(self):
        return self.pending

    def set_bandwidth(self, bandwidth_mbps):
        if bandwidth_mbps > 0:
            self.bandwidth = float(bandwidth_mbps)

    def advance(self, seconds):
        """Send for ``seconds``; returns True once the rest fits the downtime budget."""
        budget = self.bandwidth * seconds
        while budget > 0 and not self.converged:
            sent = min(budget, self.pending)
            self.pending -= sent
            self.processed += sent
            budget -= sent
            if self.pending <= 0:
                self._next_round()
        return self.converged

    def _next_round(self):
        dirtied = min(self.total, self.dirty * self.round_size / self.bandwidth)
        self.round += 1
        self.round_size = self.pending = dirtied
        if dirtied / self.bandwidth <= self.max_downtime_s:
            self.converged = True

    def stop_and_copy_s(self):
        """Downtime of the final pause: what is left, sent while the guest does not run."""
        return self.pending / self.bandwidth

    def post_copy_s(self):
        """After a switch to post-copy the rest is sent once (the guest already runs remotely)."""
        return self.pending / self.bandwidth


def precopy_duration(memory_mb, dirty_mbps, bandwidth_mbps, max_downtime_ms, max_rounds=1000):
    """Time until convergence plus the final pause, or None if it never converges."""
    model = Precopy(memory_mb, dirty_mbps, bandwidth_mbps, max_downtime_ms)
    elapsed = 0.0
    while not model.converged:
        if model.round >= max_rounds or (model.rho >= 1 and model.round > 2):
            return None
        step = model.pending / model.bandwidth
        model.advance(step)
        elapsed += step
    return elapsed + model.stop_and_copy_s()


def transfer_s(size_gb, rate_mbps):
    return size_gb * 1024.0 / rate_mbps if rate_mbps > 0 else 0.0
