# The install test's connection into its booted container: Debian's community.docker.nsenter with pipelining on.
# nsenter hands a task's stdin to the command it runs, so a module can be piped to python3 in the container instead
# of being copied to a temporary file, made executable, run and removed (four process starts per task instead of
# one: minutes over a playbook on a busy machine). Used only by ansible/test/install-scenario.ts.
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = '''
name: kyc_nsenter
short_description: nsenter into the install test's container, with pipelining
description:
    - community.docker.nsenter with has_pipelining set; the remote user is always root.
author: KYC appliance
options:
    nsenter_pid:
        description: PID (on the controller) of the container's init.
        type: int
        default: 1
        vars:
            - name: ansible_nsenter_pid
'''

from ansible_collections.community.docker.plugins.connection.nsenter import Connection as NsenterConnection


class Connection(NsenterConnection):
    transport = 'kyc_nsenter'
    has_pipelining = True
