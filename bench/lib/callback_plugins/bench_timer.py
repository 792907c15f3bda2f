# -*- coding: utf-8 -*-
"""Ansible callback for the benchmarks: wall time of every task (first start to the next
task's start), written as JSON to $BENCH_TIMER_OUT when the playbook ends.

Enabled only by bench/ (ANSIBLE_CALLBACK_PLUGINS=bench/lib/callback_plugins,
ANSIBLE_CALLBACKS_ENABLED=bench_timer); not part of the collection.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = """
name: bench_timer
type: aggregate
short_description: per-task wall time for bench/
description: Writes the wall time of each task to the JSON file named by BENCH_TIMER_OUT.
requirements: [enabled in ANSIBLE_CALLBACKS_ENABLED]
"""

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self.tasks, self.current, self.started = [], None, time.monotonic()

    def _close(self):
        if self.current is not None:
            name, began = self.current
            self.tasks.append([name, round(time.monotonic() - began, 3)])
            self.current = None

    def _start(self, task):
        self._close()
        self.current = (task.get_name(), time.monotonic())

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._start(task)

    def v2_playbook_on_handler_task_start(self, task):
        self._start(task)

    def v2_playbook_on_play_start(self, play):
        self._close()

    def v2_playbook_on_stats(self, stats):
        self._close()
        path = os.environ.get("BENCH_TIMER_OUT")
        if path:
            with open(path, "w") as handle:
                json.dump({"total": round(time.monotonic() - self.started, 3),
                           "tasks": self.tasks}, handle, indent=1)
