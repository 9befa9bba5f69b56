"""A Nova virt driver that behaves like a hypervisor without running guests.

Loaded by nova-compute as ``nova.virt.cloudmaint_sim`` (see compute_launcher.py). It keeps Nova's
fake driver bookkeeping but adds what the collection needs to be tested against:

- guests persist in the host's state dir, so a restarted nova-compute finds them again, and a
  host *reboot* (marker file written by ``cloudctl reboot``) leaves them powered off;
- live migration follows Nova's libvirt driver: a block copy of the root disk first when storage
  is not shared, pre-copy under Nova's downtime ramp (live_migration_downtime, _steps, _delay),
  progress on the migration record; force-complete pauses the guest until the copy ends unless
  post-copy is permitted (then a short switch and a slowed guest while the rest arrives); abort;
- cold migration costs a shutdown, a disk copy at the host bandwidth and a boot;
- every transfer shares its hosts' links fairly with the others running at the same time;
- shelve uploads a real snapshot to Glance; offload deletes the local disk unless the host has
  shared storage, so unshelve downloads the image unless the disk survived;
- faults (``cloudctl fault``) make the next live or cold migration fail or stall, or cut bandwidth.
"""
import io
import json
import os
import threading
import time

from oslo_config import cfg
from oslo_log import log as logging
from oslo_utils import versionutils

from nova.compute import power_state
from nova.compute import task_states
from nova.compute import vm_states
from nova import exception
from nova.image import glance
from nova.virt import fake

from cmsandbox import physics
from cmsandbox import simdriver_files

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

_OPTS = [
    cfg.StrOpt("state_dir", help="Per-host directory: guests, faults, events."),
    cfg.IntOpt("vcpus", default=16),
    cfg.IntOpt("memory_mb", default=49152),
    cfg.IntOpt("disk_gb", default=500),
    cfg.BoolOpt("shared_storage", default=False,
                help="Instance storage shared with the other hosts: no block migration, and a "
                "shelve-offload keeps the disk."),
    cfg.StrOpt("profile", default=physics.DEFAULT_PROFILE, help="Named durations (physics.PROFILES)."),
    cfg.StrOpt("transfers_dir", help="Directory shared by all hosts: their running transfers."),
] + [cfg.FloatOpt(name, default=value) for name, value in physics.DEFAULT_PHYSICS.items()]
CONF.register_opts(_OPTS, group="cloudmaint_sim")

GUESTS_FILE = simdriver_files.GUESTS_FILE
FAULTS_FILE = simdriver_files.FAULTS_FILE
EVENTS_FILE = simdriver_files.EVENTS_FILE
REBOOT_MARKER = simdriver_files.REBOOT_MARKER
MIB = 1024 * 1024


class _Control(object):
    def __init__(self):
        self.abort = False
        self.force = False


def _nova_ramp_settings():
    lv = CONF.libvirt
    return lv.live_migration_downtime, lv.live_migration_downtime_steps, lv.live_migration_downtime_delay


class SimulatedHypervisorDriver(fake.FakeDriverWithoutFakeNodes):

    def __init__(self, virtapi, read_only=False):
        opts = CONF.cloudmaint_sim
        self.vcpus = opts.vcpus
        self.memory_mb = opts.memory_mb
        self.local_gb = opts.disk_gb
        super(SimulatedHypervisorDriver, self).__init__(virtapi, read_only)
        self._state_dir = opts.state_dir
        self._lock = threading.RLock()
        self._controls = {}
        self._kept_disks = {}
        self._image_api = glance.API()

    # -- persistence ---------------------------------------------------------------------

    def _path(self, name):
        return os.path.join(self._state_dir, name)

    def _physics(self):
        return {key: getattr(CONF.cloudmaint_sim, key) for key in physics.DEFAULT_PHYSICS}

    def _save(self):
        with self._lock:
            doc = {
                "guests": {uuid: {"name": g.name, "state": g.state, "resources": getattr(g, "resources", [0, 0, 0])}
                           for uuid, g in self.instances.items()},
                "kept_disks": self._kept_disks,
            }
            tmp = self._path(GUESTS_FILE + ".tmp")
            with open(tmp, "w") as handle:
                json.dump(doc, handle)
            os.replace(tmp, self._path(GUESTS_FILE))

    def _event(self, kind, instance, **fields):
        record = dict(fields, event=kind, instance=instance.uuid, name=instance.display_name,
                      host=CONF.host, at=time.time())
        with self._lock, open(self._path(EVENTS_FILE), "a") as handle:
            handle.write(json.dumps(record) + "\n")
        LOG.info("simulated %s: %s", kind, record, instance=instance)

    def init_host(self, host):
        super(SimulatedHypervisorDriver, self).init_host(host)
        os.makedirs(self._state_dir, exist_ok=True)
        rebooted = os.path.exists(self._path(REBOOT_MARKER))
        pending = self._path(simdriver_files.PENDING_VERSION)
        if rebooted and os.path.exists(pending):
            # A patch installed before the reboot takes effect now.
            os.replace(pending, self._path(simdriver_files.VERSION))
        self.host_status_base["hypervisor_version"] = versionutils.convert_version_to_int(
            simdriver_files.read_version(self._state_dir))
        try:
            with open(self._path(GUESTS_FILE)) as handle:
                doc = json.load(handle)
        except (IOError, ValueError):
            doc = {}
        for uuid, guest in doc.get("guests", {}).items():
            state = power_state.SHUTDOWN if rebooted else guest["state"]
            item = fake.FakeInstance(guest["name"], state, uuid)
            item.resources = guest.get("resources", [0, 0, 0])
            self.resources.claim(*item.resources)
            self.instances[uuid] = item
        self._kept_disks = doc.get("kept_disks", {})
        if rebooted or not os.path.exists(self._path(simdriver_files.BOOTED_AT)):
            with open(self._path(simdriver_files.BOOTED_AT), "w") as handle:
                handle.write("%.3f" % time.time())
        if rebooted:
            LOG.warning("host %s was rebooted: %d guests are powered off", host, len(self.instances))
            os.unlink(self._path(REBOOT_MARKER))
        self._save()

    def get_host_uptime(self):
        # libvirt's driver returns the host's `uptime`; a reboot resets it, a service restart does not.
        with open(self._path(simdriver_files.BOOTED_AT)) as handle:
            booted_at = float(handle.read())
        return simdriver_files.uptime_text(booted_at, time.time())

    # -- faults --------------------------------------------------------------------------

    def _faults(self):
        try:
            with open(self._path(FAULTS_FILE)) as handle:
                return json.load(handle)
        except (IOError, ValueError):
            return {}

    def _take_fault(self, kind):
        """A fault armed for the next operation of this kind, consumed on use."""
        with self._lock:
            faults = self._faults()
            value = faults.pop(kind, None)
            if value is not None:
                with open(self._path(FAULTS_FILE), "w") as handle:
                    json.dump(faults, handle)
            return value

    def _bandwidth(self):
        value = self._faults().get("bandwidth_mbps")
        return float(value) if value else CONF.cloudmaint_sim.bandwidth_mbps

    def _transfer(self, kind, src, dst):
        directory = CONF.cloudmaint_sim.transfers_dir or os.path.join(
            os.path.dirname(self._state_dir), simdriver_files.TRANSFERS_DIR)
        return simdriver_files.Transfer(directory, kind, src, dst)

    def _link_of(self, host):
        """A host's link speed: its bandwidth fault if one is armed, else the configured one."""
        if host == CONF.host:
            return self._bandwidth()
        path = os.path.join(os.path.dirname(self._state_dir), host, FAULTS_FILE)
        try:
            with open(path) as handle:
                value = json.load(handle).get("bandwidth_mbps")
        except (IOError, ValueError, AttributeError):
            value = None
        return float(value) if value else CONF.cloudmaint_sim.bandwidth_mbps

    def _share(self, transfer, cap=None):
        """This transfer's rate now: its fair share of the source's link out and of the
        destination's link in (Glance's end is capped by ``cap``)."""
        out_count, in_count = transfer.counts()
        unlimited = float("inf")        # Glance's end: its rate is the cap
        src = unlimited if transfer.src == "glance" else self._link_of(transfer.src)
        dst = unlimited if transfer.dst == "glance" else self._link_of(transfer.dst)
        rate = physics.fair_share_mbps(src, out_count, in_count, dst)
        return min(rate, cap) if cap else rate

    def _timed_transfer(self, kind, size_mb, dst, src=None, cap=None):
        """Send ``size_mb`` over a shared link; returns (seconds, lowest share seen in MiB/s).
        The seconds are the transfer's own (the sum of its steps at the share of each), without
        the bookkeeping between steps."""
        interval = CONF.cloudmaint_sim.progress_interval_s
        seconds = 0.0
        lowest = None
        with self._transfer(kind, src or CONF.host, dst) as transfer:
            left = float(size_mb)
            while left > 1e-9:
                rate = self._share(transfer, cap)
                lowest = rate if lowest is None else min(lowest, rate)
                step = min(interval, left / rate)
                time.sleep(step)
                seconds += step
                left -= rate * step
        return seconds, lowest

    def _profile(self, instance):
        flavor = instance.flavor
        return physics.guest_profile(flavor.memory_mb, flavor.root_gb, instance.metadata or {},
                                     self._physics())

    # -- guest lifecycle -----------------------------------------------------------------

    def spawn(self, context, instance, image_meta, injected_files, admin_password, allocations,
              network_info=None, block_device_info=None, power_on=True, accel_info=None):
        wait = CONF.cloudmaint_sim.boot_s if power_on else 0.0
        if instance.vm_state == vm_states.SHELVED_OFFLOADED:
            if self._kept_disks.pop(instance.uuid, None):
                path = "local_disk"
                download = 0.0
            else:
                path = "image_download"
                download, _rate = self._timed_transfer(
                    "image_download", self._profile(instance)["disk_used_gb"] * 1024.0,
                    dst=CONF.host, src="glance", cap=CONF.cloudmaint_sim.glance_mbps)
            self._event("unshelve", instance, path=path, seconds=round(wait + download, 3),
                        download_s=round(download, 3),
                        shared_storage=CONF.cloudmaint_sim.shared_storage)
        time.sleep(wait)
        super(SimulatedHypervisorDriver, self).spawn(
            context, instance, image_meta, injected_files, admin_password, allocations,
            network_info=network_info, block_device_info=block_device_info, power_on=power_on,
            accel_info=accel_info)
        flavor = instance.flavor
        self.instances[instance.uuid].resources = [flavor.vcpus, flavor.memory_mb, flavor.root_gb]
        self._save()

    def destroy(self, context, instance, network_info, block_device_info=None,
                destroy_disks=True, destroy_secrets=True):
        shelving = (instance.vm_state == vm_states.SHELVED
                    or instance.task_state == task_states.SHELVING_OFFLOADING)
        if shelving and instance.uuid in self.instances:
            # libvirt's destroy deletes the local disks of an offloaded guest; only shared
            # instance storage keeps them for a fast unshelve.
            kept = physics.offload_keeps_disk(CONF.cloudmaint_sim.shared_storage)
            if kept:
                self._kept_disks[instance.uuid] = time.time()
            self._event("offload", instance, disk_kept=kept,
                        shared_storage=CONF.cloudmaint_sim.shared_storage)
        super(SimulatedHypervisorDriver, self).destroy(
            context, instance, network_info, block_device_info=block_device_info,
            destroy_disks=destroy_disks, destroy_secrets=destroy_secrets)
        self._save()

    def _set_state(self, instance, state):
        if instance.uuid not in self.instances:
            raise exception.InstanceNotFound(instance_id=instance.uuid)
        self.instances[instance.uuid].state = state
        self._save()

    def power_off(self, instance, timeout=0, retry_interval=0):
        if instance.uuid not in self.instances:
            raise exception.InstanceNotFound(instance_id=instance.uuid)
        if self.instances[instance.uuid].state == power_state.RUNNING:
            time.sleep(CONF.cloudmaint_sim.shutdown_s)
        self._set_state(instance, power_state.SHUTDOWN)

    def power_on(self, context, instance, network_info, block_device_info=None,
                 accel_info=None, share_info=None):
        if instance.uuid not in self.instances:
            raise exception.InstanceNotFound(instance_id=instance.uuid)
        time.sleep(CONF.cloudmaint_sim.boot_s)
        self._set_state(instance, power_state.RUNNING)

    def reboot(self, context, instance, network_info, reboot_type, block_device_info=None,
               bad_volumes_callback=None, accel_info=None, share_info=None):
        super(SimulatedHypervisorDriver, self).reboot(
            context, instance, network_info, reboot_type, block_device_info=block_device_info,
            bad_volumes_callback=bad_volumes_callback, accel_info=accel_info, share_info=share_info)
        self._save()

    def pause(self, instance):
        self._set_state(instance, power_state.PAUSED)

    def unpause(self, instance):
        self._set_state(instance, power_state.RUNNING)

    def suspend(self, context, instance):
        # A suspend writes guest memory to disk.
        time.sleep(physics.transfer_s(self._profile(instance)["ram_used_mb"] / 1024.0,
                                      CONF.cloudmaint_sim.glance_mbps))
        self._set_state(instance, power_state.SUSPENDED)

    def resume(self, context, instance, network_info, block_device_info=None, share_info=None):
        time.sleep(physics.transfer_s(self._profile(instance)["ram_used_mb"] / 1024.0,
                                      CONF.cloudmaint_sim.glance_mbps))
        self._set_state(instance, power_state.RUNNING)

    def snapshot(self, context, instance, image_id, update_task_state):
        if instance.uuid not in self.instances:
            raise exception.InstanceNotRunning(instance_id=instance.uuid)
        update_task_state(task_state=task_states.IMAGE_PENDING_UPLOAD)
        update_task_state(task_state=task_states.IMAGE_UPLOADING,
                          expected_state=task_states.IMAGE_PENDING_UPLOAD)
        disk_gb = self._profile(instance)["disk_used_gb"]
        seconds, _rate = self._timed_transfer("snapshot_upload", disk_gb * 1024.0, dst="glance",
                                              cap=CONF.cloudmaint_sim.glance_mbps)
        # The bits are a small descriptor, not gigabytes: the timing above stands for the size.
        payload = json.dumps({"instance": instance.uuid, "modelled_disk_gb": disk_gb}).encode()
        self._image_api.update(context, image_id,
                               {"disk_format": "raw", "container_format": "bare"},
                               data=io.BytesIO(payload), purge_props=False)
        self._event("snapshot", instance, image=image_id, seconds=round(seconds, 3),
                    modelled_disk_gb=disk_gb)

    # -- cold migration ------------------------------------------------------------------

    def migrate_disk_and_power_off(self, context, instance, dest, flavor, network_info,
                                   block_device_info=None, timeout=0, retry_interval=0):
        was_running = self.instances.get(instance.uuid) is not None and \
            self.instances[instance.uuid].state == power_state.RUNNING
        self.power_off(instance)
        fault = self._take_fault("cold_migration")
        disk_gb = self._profile(instance)["disk_used_gb"]
        if fault == "fail":
            time.sleep(physics.transfer_s(disk_gb, self._bandwidth()) / 2)
            if was_running:
                self._set_state(instance, power_state.RUNNING)
            self._event("cold_migration", instance, dest=dest, outcome="failed (injected)")
            raise exception.InstanceFaultRollback(
                inner_exception=exception.ResizeError(reason="simulated disk copy failure"))
        seconds, rate = self._timed_transfer("cold_copy", disk_gb * 1024.0, dst=dest)
        self._event("cold_migration", instance, dest=dest, seconds=round(seconds, 3),
                    disk_gb=disk_gb, rate_mbps=round(rate or 0.0, 1))
        return ""

    def finish_migration(self, context, migration, instance, disk_info, network_info,
                         image_meta, resize_instance, allocations, block_device_info=None,
                         power_on=True, share_info=None):
        # spawn() adds the boot time.
        super(SimulatedHypervisorDriver, self).finish_migration(
            context, migration, instance, disk_info, network_info, image_meta,
            resize_instance, allocations, block_device_info=block_device_info,
            power_on=power_on, share_info=share_info)

    def confirm_migration(self, context, migration, instance, network_info):
        super(SimulatedHypervisorDriver, self).confirm_migration(
            context, migration, instance, network_info)
        self._save()

    def finish_revert_migration(self, context, instance, network_info, migration,
                                block_device_info=None, power_on=True, share_info=None):
        super(SimulatedHypervisorDriver, self).finish_revert_migration(
            context, instance, network_info, migration, block_device_info=block_device_info,
            power_on=power_on, share_info=share_info)
        flavor = instance.flavor
        self.instances[instance.uuid].resources = [flavor.vcpus, flavor.memory_mb, flavor.root_gb]
        self._save()

    # -- live migration ------------------------------------------------------------------

    def check_can_live_migrate_destination(self, context, instance, src_compute_info,
                                           dst_compute_info, block_migration=False,
                                           disk_over_commit=False):
        data = super(SimulatedHypervisorDriver, self).check_can_live_migrate_destination(
            context, instance, src_compute_info, dst_compute_info,
            block_migration=block_migration, disk_over_commit=disk_over_commit)
        shared = CONF.cloudmaint_sim.shared_storage
        data.is_shared_instance_path = shared
        data.is_shared_block_storage = shared
        return data

    def check_can_live_migrate_source(self, context, instance, dest_check_data,
                                      block_device_info=None):
        # As libvirt's driver: storage is shared only if both ends share it; block_migration
        # "auto" (unset) becomes a block migration without shared storage, and a request that
        # contradicts the storage is refused.
        shared = bool(CONF.cloudmaint_sim.shared_storage and dest_check_data.is_shared_instance_path)
        dest_check_data.is_shared_instance_path = shared
        dest_check_data.is_shared_block_storage = shared
        if "block_migration" not in dest_check_data:
            dest_check_data.block_migration = physics.block_migration(shared)
        if dest_check_data.block_migration and shared:
            raise exception.InvalidLocalStorage(
                reason="Block migration can not be used with shared storage.",
                path=CONF.instances_path)
        if not dest_check_data.block_migration and not shared:
            raise exception.InvalidSharedStorage(
                reason="Shared storage live-migration requires either shared storage or "
                "boot-from-volume with no local disks.", path=CONF.host)
        return dest_check_data

    def live_migration(self, context, instance, dest, post_method, recover_method,
                       block_migration=False, migrate_data=None):
        transfer = self._transfer("live_migration", CONF.host, dest)
        try:
            self._live_migration(context, instance, dest, post_method, recover_method,
                                 block_migration, migrate_data, transfer)
        finally:
            transfer.close()        # whatever happens, it no longer shares the links

    def _live_migration(self, context, instance, dest, post_method, recover_method,
                        block_migration, migrate_data, transfer):
        migration = migrate_data.migration
        profile = self._profile(instance)
        fault = self._take_fault("live_migration")
        dirty = profile["dirty_mbps"]
        if fault == "stall":
            dirty = max(dirty, self._bandwidth() * 1.5)
        block = bool(migrate_data.block_migration if "block_migration" in migrate_data
                     else block_migration)
        disk_gb = profile["disk_used_gb"] if block else 0.0
        # driver.py _live_migration_data_gb: flavor RAM plus the block-migrated disk, each >= 2 GiB
        data_gb = physics.migration_data_gb(instance.flavor.memory_mb, [disk_gb] if block else [])
        downtime_ms, steps, delay = _nova_ramp_settings()
        ramp = physics.downtime_steps(data_gb, downtime_ms, steps, delay)
        model = physics.Precopy(profile["ram_used_mb"], dirty, self._share(transfer), downtime_ms,
                                disk_mb=disk_gb * 1024.0, schedule=ramp,
                                working_set_mb=profile["working_set_mb"])
        control = self._controls[instance.uuid] = _Control()
        timeout = physics.completion_timeout_s(
            data_gb, CONF.libvirt.live_migration_completion_timeout)
        interval = CONF.cloudmaint_sim.progress_interval_s
        started = last = time.monotonic()
        outcome = None
        mode = None
        paused_at = None
        rest_at_pause = None
        lowest_rate = model.bandwidth
        try:
            while outcome is None:
                time.sleep(interval)
                now = time.monotonic()
                model.set_bandwidth(self._share(transfer))
                lowest_rate = min(lowest_rate, model.bandwidth)
                converged = model.advance(now - last)
                last = now
                self._report(migration, model)
                if control.abort:
                    outcome = "cancelled"
                elif fault == "fail" and (converged or model.processed >= 0.3 * model.total):
                    outcome = "error"
                elif converged:
                    outcome = "done"
                elif control.force and mode is None:
                    mode = physics.force_complete_mode(
                        CONF.libvirt.live_migration_permit_post_copy, block)
                    if mode == "postcopy" and model.disk_pending <= 0:
                        model.fold_dirtied()
                        outcome = "done"
                    elif mode == "postcopy":
                        mode = None     # QEMU switches only once the disk mirror is ready
                    else:
                        # migration.py run_tasks: guest.pause(); the copy goes on, nothing dirtied
                        model.pause()
                        paused_at = model.elapsed
                        rest_at_pause = model.rest_mb
                        self._mark(instance, power_state.PAUSED)
                elif timeout and now - started > timeout and mode is None:
                    if CONF.libvirt.live_migration_timeout_action == "force_complete":
                        control.force = True
                    else:
                        outcome = "cancelled"
        finally:
            self._controls.pop(instance.uuid, None)

        stats = {"dest": dest, "rounds": model.round, "memory_mb": round(model.total),
                 "transferred_mb": round(model.processed),
                 "rho": round(dirty / model.bandwidth, 3),      # the guest's, even if paused since
                 "block_migration": block, "disk_gb": disk_gb,
                 "block_copy_s": round(model.disk_seconds, 3), "data_gb": round(data_gb, 3),
                 "allowed_downtime_ms": round(model.max_downtime_s * 1000.0, 1),
                 "lowest_rate_mbps": round(lowest_rate, 1)}
        if outcome in ("cancelled", "error"):
            transfer.close()
            if paused_at is not None:
                # migration.py run_recover_tasks: a guest paused for the migration runs again
                self._mark(instance, power_state.RUNNING)
            self._event("live_migration", instance, outcome=outcome,
                        seconds=round(time.monotonic() - started, 3), paused=paused_at is not None,
                        **stats)
            recover_method(context, instance, dest, migrate_data, migration_status=outcome)
            return

        extra = {}
        rest_mb = model.rest_mb
        if mode == "postcopy":
            # A short switch, then the guest runs remotely while the rest arrives on demand.
            switch_s = CONF.cloudmaint_sim.post_copy_switch_ms / 1000.0
            time.sleep(switch_s)
            slow = physics.post_copy_slowdown(rest_mb, model.total, model.bandwidth)
            time.sleep(slow["slowdown_s"])
            downtime = switch_s
            extra = {"slowdown_s": round(slow["slowdown_s"], 3),
                     "remote_fraction_at_switch": round(slow["remote_fraction_at_switch"], 4),
                     "mean_remote_fraction": round(slow["mean_remote_fraction"], 4)}
        else:
            final = model.stop_and_copy_s()
            time.sleep(final)
            if paused_at is not None:
                mode = "paused"
                # paused until the copy ended: the model's time, not the monitor's tick
                downtime = model.elapsed - paused_at + final
                extra = {"rest_mb_at_pause": round(rest_at_pause, 1)}
            else:
                mode = "precopy"
                downtime = final
        transfer.close()
        model.processed += model.pending
        model.pending = 0.0
        stats["transferred_mb"] = round(model.processed)
        self._report(migration, model)
        self._event("live_migration", instance, outcome="completed", mode=mode,
                    downtime_ms=round(downtime * 1000.0, 1), paused=mode == "paused",
                    seconds=round(time.monotonic() - started, 3), **dict(stats, **extra))
        post_method(context, instance, dest, block, migrate_data)

    def _mark(self, instance, state):
        """The guest's power state as the hypervisor sees it, if it is still here."""
        if instance.uuid in self.instances:
            self._set_state(instance, state)

    def _report(self, migration, model):
        migration.memory_total = int(model.total * MIB)
        migration.memory_processed = int(model.processed * MIB)
        migration.memory_remaining = int(model.pending * MIB)
        # driver.py _live_migration_monitor saves the block copy's progress beside the memory's
        migration.disk_total = int(model.disk_total * MIB)
        migration.disk_processed = int((model.disk_total - model.disk_pending) * MIB)
        migration.disk_remaining = int(model.disk_pending * MIB)
        try:
            migration.save()
        except Exception:  # progress is best effort; the migration itself goes on
            LOG.exception("could not save migration progress")

    def live_migration_force_complete(self, instance):
        control = self._controls.get(instance.uuid)
        if control:
            control.force = True

    def live_migration_abort(self, instance):
        control = self._controls.get(instance.uuid)
        if control:
            control.abort = True

    def post_live_migration(self, context, instance, block_device_info, migrate_data=None):
        # Runs on the source once the guest runs on the destination.
        self.destroy(context, instance, network_info=None, block_device_info=block_device_info)

    def post_live_migration_at_destination(self, context, instance, network_info,
                                           block_migration=False, block_device_info=None):
        fake.FakeDriver.spawn(self, context, instance, None, None, None, None)
        if instance.vm_state == vm_states.PAUSED:
            # A paused guest arrives paused, as with libvirt.
            self.instances[instance.uuid].state = power_state.PAUSED
        flavor = instance.flavor
        self.instances[instance.uuid].resources = [flavor.vcpus, flavor.memory_mb, flavor.root_gb]
        self._save()
