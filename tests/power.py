"""A filesystem a test can cut power to: ext4 on a loop device, nested in another.

`kill -9` alone proves little about durability: the kernel keeps the dead process's
page cache and writes it out later, so an answer given before its data reached the disk
still survives. A power cut loses that cache. The closest this machine allows without
device-mapper (dm-flakey and dm-log-writes need it; the sandbox's kernel has none, see
`dm_available`) is a snapshot of what a block device had *completed* at one instant:

* the data directory lives on `inner`, an ext4 filesystem on a loop device whose
  backing file lies on `outer`, a second ext4 on a second loop device;
* the cut freezes `outer` (`fsfreeze`): from that instant nothing `inner`'s device is
  asked to write reaches its backing file — an fsync in progress cannot complete, so
  nothing acknowledged after it depends on it — while what it completed before is
  in the file; the service is killed, and the backing file is copied while frozen;
* the copy is mounted on a fresh loop device (ext4 replays its journal, as after a
  crash) and is the disk the next start finds: everything that was only in `inner`'s
  page cache is gone, as in a power loss.

What it cannot show: a real disk may also lose, or reorder, writes it had completed
but not yet flushed from its own cache; the copy keeps every completed write, so it is
the kindest of the crash states. A disk that lies about flushing is beyond any test here.

Root only; everything is undone (unmounted, detached) however the test ends.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

TOOLS = ("losetup", "mkfs.ext4", "mount", "umount", "fsfreeze")


def run(*command: str) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout.strip()


def unavailable() -> str | None:
    """Why loop devices cannot be used here, or None when they can."""
    if os.geteuid() != 0:
        return "loop devices need root"
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        return f"missing {', '.join(missing)}"
    try:
        run("losetup", "--find")
    except (RuntimeError, OSError) as exc:
        return f"no free loop device: {exc}"
    return None


def dm_available() -> bool:
    """Whether device-mapper (and so dm-flakey) could be used: not in this sandbox."""
    return Path("/dev/mapper/control").exists() and "flakey" in _dm_targets()


def _dm_targets() -> str:
    with contextlib.suppress(RuntimeError, OSError):
        return run("dmsetup", "targets")
    return ""


class Ext4:
    """An ext4 filesystem in `image`, on its own loop device, mounted at `mountpoint`."""

    def __init__(self, image: Path, mountpoint: Path, cleanup: contextlib.ExitStack, size_mb: int | None) -> None:
        if size_mb is not None:
            with image.open("wb") as file:
                file.truncate(size_mb * 1024 * 1024)
            # initialised now, not by a kernel thread writing meanwhile
            run("mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0", str(image))
        self.device = run("losetup", "--find", "--show", str(image))
        cleanup.callback(_quietly, "losetup", "--detach", self.device)
        mountpoint.mkdir(parents=True, exist_ok=True)
        run("mount", "-t", "ext4", self.device, str(mountpoint))
        cleanup.callback(_unmount, mountpoint)
        self.mountpoint = mountpoint

    @contextlib.contextmanager
    def frozen(self) -> Iterator[None]:
        run("fsfreeze", "--freeze", str(self.mountpoint))
        try:
            yield
        finally:
            run("fsfreeze", "--unfreeze", str(self.mountpoint))


class CuttableDisk:
    """`inner` (the data directory's filesystem) whose device writes to a file on `outer`.

    `cut` is a power loss at that instant: the service is killed with `outer` frozen,
    and the disk `inner` leaves behind is copied to `image`; then both are taken down."""

    def __init__(self, work: Path, image: Path, *, size_mb: int = 96) -> None:
        self._stack = contextlib.ExitStack()
        work.mkdir(parents=True, exist_ok=True)
        try:
            self.outer = Ext4(work / "outer.img", work / "outer", self._stack, size_mb + 48)
            backing = self.outer.mountpoint / "inner.img"
            if image.exists():  # the disk a previous cut left
                shutil.copyfile(image, backing)
            self.inner = Ext4(backing, work / "inner", self._stack, None if image.exists() else size_mb)
        except BaseException:
            self._stack.close()
            raise
        self._image = image
        self.mountpoint = self.inner.mountpoint

    def cut(self, kill: Callable[[], None], wait: Callable[[], object]) -> None:
        """`kill()` the service with `outer` frozen, keep the disk `inner` had then, and
        take both down once the service is gone (`wait()`: a thread of it stuck in an
        fsync while frozen only ends once `outer` thaws)."""
        try:
            with self.outer.frozen():
                kill()
                shutil.copyfile(self.outer.mountpoint / "inner.img", self._image)
            wait()
        finally:
            self.close()

    def close(self) -> None:
        self._stack.close()


@contextlib.contextmanager
def mounted(image: Path, mountpoint: Path) -> Iterator[Path]:
    """`image` (a disk a cut left) mounted on its own loop device: ext4 replays its journal."""
    with contextlib.ExitStack() as cleanup:
        Ext4(image, mountpoint, cleanup, None)
        yield mountpoint


def _unmount(mountpoint: Path) -> None:
    with contextlib.suppress(RuntimeError):
        run("fsfreeze", "--unfreeze", str(mountpoint))  # a test cut short inside `frozen`
    try:
        run("umount", str(mountpoint))
    except RuntimeError:
        _quietly("umount", "--lazy", str(mountpoint))


def _quietly(*command: str) -> None:
    with contextlib.suppress(RuntimeError, OSError):
        run(*command)
