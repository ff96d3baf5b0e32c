"""``nbgrader collect`` that a student's folder cannot turn against the instructor.

nbgrader's collect runs as the instructor and copies each student's inbound folder with
``shutil.copytree``, which follows links: a link handed in copied the instructor's private files
(or the whole gradebook) into the submission, and from there into the student's feedback; a
link loop copied the whole exchange and stopped the collection of everyone. :class:`SafeCollect`
(the course's configuration puts it in place of nbgrader's) checks each submission first, without
following anything, and refuses, per student and with the reason in the log, a folder that

* is a link, or holds a link, a device or a pipe;
* holds more than ``max_files`` files, or more than ``max_bytes`` bytes, or folders nested
  deeper than ``max_depth``;
* is not owned by the student it claims to come from (when ``check_owner`` is on).

Then it copies regular files only, never following a link, and one student's bad folder never
stops the others. The course collects the newest submission by default (``update``), so a
resubmission is never silently ignored.
"""

from __future__ import annotations

import os
import pwd
import stat
from pathlib import Path

from nbgrader.exchange.default.collect import ExchangeCollect
from traitlets import Dict, Integer

from .sandbox import copy_regular_files


def unsafe_reason(folder: str | os.PathLike, max_files: int, max_bytes: int, max_depth: int) -> str | None:
    """Why ``folder`` must not be collected, or None; nothing is followed or opened."""
    folder = Path(folder)
    info = os.lstat(folder)
    if stat.S_ISLNK(info.st_mode):
        return f"the submission folder is a link (to {os.readlink(folder)})"
    if not stat.S_ISDIR(info.st_mode):
        return "the submission is not a folder"
    files, size = 0, 0
    for here, dirs, names in os.walk(folder, followlinks=False):
        relative = Path(here).relative_to(folder)
        if len(relative.parts) > max_depth:
            return f"its folders are nested deeper than {max_depth}"
        for name in dirs + names:
            entry = Path(here) / name
            mode = os.lstat(entry).st_mode
            if stat.S_ISLNK(mode):
                return f"it holds a link: {relative / name} -> {os.readlink(entry)}"
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                return f"it holds {relative / name}, which is not a file (a device or a pipe)"
            if stat.S_ISREG(mode):
                files += 1
                size += os.lstat(entry).st_size
        if files > max_files:
            return f"it holds more than {max_files} files"
        if size > max_bytes:
            return f"it is larger than {max_bytes / 1024**2:g} MB"
    return None


class SafeCollect(ExchangeCollect):
    """nbgrader's collect, checking each submission before copying it (see the module docstring)."""

    max_files = Integer(200, help="Files a submission may hold.").tag(config=True)
    max_bytes = Integer(50 * 1024**2, help="Bytes a submission may hold.").tag(config=True)
    max_depth = Integer(8, help="How deep a submission's folders may nest.").tag(config=True)
    refused = Dict(help="student -> why their submission was not collected").tag(config=False)

    def copy_files(self):
        kept = []
        for record in self.src_records:
            student = record["username"]
            source = os.path.join(self.inbound_path, record["filename"])
            reason = unsafe_reason(source, self.max_files, self.max_bytes, self.max_depth)
            if reason is None and self.check_owner:
                reason = _wrong_owner(source, student)
            if reason:
                self.refused[student] = reason
                self.log.error("NOT COLLECTED: the submission of %s (%s): %s", student, record["filename"], reason)
            else:
                kept.append(record)
        self.src_records = kept
        super().copy_files()
        if self.refused:
            self.log.error("%d submission(s) were not collected; see the NOT COLLECTED lines above",
                           len(self.refused))

    def do_copy(self, src, dest, log=None):
        """Regular files only, never through a link (the folder was checked, but may change)."""
        Path(dest).mkdir(parents=True)
        left_out = copy_regular_files(Path(src), Path(dest), max_files=self.max_files)
        for what in left_out:
            self.log.error("NOT COPIED from %s: %s", src, what)


def _wrong_owner(path: str, student: str) -> str | None:
    try:
        owner = pwd.getpwuid(os.lstat(path).st_uid).pw_name
    except KeyError:
        owner = f"uid {os.lstat(path).st_uid}"
    return None if owner == student else f"it claims to come from {student} but belongs to {owner}"
