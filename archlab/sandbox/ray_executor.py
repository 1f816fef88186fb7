"""The Ray executor: the same jailed zygotes, hosted by Ray actors on a cluster.

Each slot is one long-lived actor that owns a `LocalSlot` (a zygote in its
bubblewrap jail, the label-free data and the grader) on its node. The actor is
the trusted parent there: it keeps Ray's sockets and the labels, grades every
report, and checks requested weights before it ships their bytes back to the
driver, which writes them where the request asked. Isolation, limits and
failure kinds are exactly the local pool's. A dead actor (node lost, actor
killed) gives a `crashed` Result and is replaced. Ray is imported only here,
and only when a Ray executor is asked for.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import ray

from archlab.records import Result
from archlab.sandbox import scratch
from archlab.sandbox.pool import SlotPool
from archlab.sandbox.process import WorkerStartError
from archlab.sandbox.requests import EvalRequest, Limits
from archlab.sandbox.slot import LocalSlot, closed_result, deliver_weights
from archlab.sandbox.tasks import Task, load_task
from archlab.sandbox.walls import open_sandbox

ACTOR_START_TIMEOUT_S = 300.0
REPLY_GRACE_S = 60.0  # the actor enforces time_s itself; this only catches a lost actor


@ray.remote(max_restarts=0)
class SandboxHost:
    """A Ray actor holding one sandboxed worker on its node."""

    def __init__(self, task: dict, device: str, limits: dict, isolate_network: bool | None, jail: bool | None,
                 unsafe_sandbox: bool) -> None:
        local_task = _task_on_this_node(Task.model_validate(task))
        scratch.remove_stale_roots()
        self.scratch_root = scratch.make_root(prefix="archlab-ray-sandbox-")
        sandbox = open_sandbox(local_task, self.scratch_root, device=device, limits=Limits.model_validate(limits),
                               jail_mode=jail, unsafe_sandbox=unsafe_sandbox, isolate_network=isolate_network)
        self.slot = LocalSlot(sandbox, 0)
        self.slot.start()

    def ready(self) -> bool:
        return True

    def run(self, req: dict) -> tuple[dict, bytes | None]:
        """The Result, and the checked weights' bytes when the request asked for them."""
        result, weights = self.slot.evaluate(EvalRequest.model_validate(req))
        self.slot.heal()
        return result.model_dump(mode="json"), weights

    def stop(self) -> None:
        self.slot.stop()
        shutil.rmtree(self.scratch_root, ignore_errors=True)


def _task_on_this_node(task: Task) -> Task:
    """The task with a data file that exists here: MNIST-1D is regenerated on a fresh node."""
    if task.data_file and Path(task.data_file).exists():
        return task
    if task.name == "mnist1d":
        local = load_task("mnist1d")
        if local.fingerprint != task.fingerprint:
            raise WorkerStartError("MNIST-1D generated on this node differs from the driver's copy")
        return local
    raise WorkerStartError(f"task data {task.data_file} is not present on this Ray node")


class RaySlot:
    """Parent-side handle of one `SandboxHost` actor."""

    def __init__(self, task: Task, *, device: str, limits: Limits, isolate_network: bool | None,
                 jail: bool | None, unsafe_sandbox: bool, num_cpus: float, num_gpus: float) -> None:
        self.task, self.device, self.limits, self.isolate_network = task, device, limits, isolate_network
        self.jail, self.unsafe_sandbox = jail, unsafe_sandbox
        self.num_cpus, self.num_gpus = num_cpus, num_gpus
        self.actor = None
        self.dead = True
        self.restarts = 0

    def start(self) -> None:
        self.actor = SandboxHost.options(num_cpus=self.num_cpus, num_gpus=self.num_gpus).remote(
            self.task.model_dump(mode="json"), self.device, self.limits.model_dump(), self.isolate_network,
            self.jail, self.unsafe_sandbox)
        try:
            ray.get(self.actor.ready.remote(), timeout=ACTOR_START_TIMEOUT_S)
        except Exception as exc:  # RayActorError, GetTimeoutError, a WorkerStartError raised remotely
            self.abort()
            raise WorkerStartError(f"Ray sandbox actor failed to start: {' '.join(str(exc).split())[:400]}") from None
        self.dead = False

    def run(self, req: EvalRequest) -> Result:
        if self.dead:
            try:
                self.start()
            except WorkerStartError as exc:
                return closed_result(req, str(exc))
        capped = req.limits.model_copy(update={"memory_mb": min(req.limits.memory_mb, self.limits.memory_mb)})
        try:
            reply, weights = ray.get(self.actor.run.remote(req.model_copy(update={"limits": capped}).model_dump(
                mode="json")), timeout=req.limits.time_s + REPLY_GRACE_S)
            result = Result.model_validate(reply)
        except Exception as exc:  # the actor or its node died, or never answered
            self.dead = True
            return closed_result(req, f"the Ray sandbox actor was lost: {' '.join(str(exc).split())[:400]}")
        return deliver_weights(result, weights, req)  # checked by the actor, written on the driver's side

    def heal(self) -> None:
        if not self.dead:
            return
        self.abort()
        try:
            self.start()
            self.restarts += 1
        except WorkerStartError:
            pass  # the next run tries again and reports the failure in its Result

    def stop(self) -> None:
        if self.actor is not None and not self.dead:
            try:
                ray.get(self.actor.stop.remote(), timeout=30)
            except Exception:
                pass
        self.abort()

    def abort(self) -> None:
        if self.actor is not None:
            try:
                ray.kill(self.actor)
            except Exception:
                pass
        self.actor, self.dead = None, True


class RayExecutor(SlotPool):
    """`workers` sandbox actors on a Ray cluster (`address=None`: join or start a local one)."""

    def __init__(self, task: Task, workers: int | None = None, *, address: str | None = None, device: str = "auto",
                 limits: Limits | None = None, isolate_network: bool | None = None, jail: bool | None = None,
                 unsafe_sandbox: bool = False) -> None:
        self._owns_ray = not ray.is_initialized()
        if self._owns_ray:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
        self.limits = limits or Limits()
        count = workers or max(1, int(ray.cluster_resources().get("CPU", 1) // self.limits.threads))
        num_gpus = 1.0 / count if device in ("auto", "cuda") and ray.cluster_resources().get("GPU", 0) else 0.0
        slots = [RaySlot(task, device=device, limits=self.limits, isolate_network=isolate_network, jail=jail,
                         unsafe_sandbox=unsafe_sandbox, num_cpus=min(self.limits.threads, ray.cluster_resources().get("CPU", 1) / count),
                         num_gpus=num_gpus) for _ in range(count)]
        try:
            super().__init__(task, slots)
        except BaseException:
            self._shutdown_ray()
            raise

    @property
    def restarts(self) -> int:
        return sum(slot.restarts for slot in self.slots)

    def close(self, wait: bool = True) -> None:
        super().close(wait)
        self._shutdown_ray()

    def _shutdown_ray(self) -> None:
        if self._owns_ray and ray.is_initialized():
            ray.shutdown()
