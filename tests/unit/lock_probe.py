"""Whether a bond lock is held right now, asked the way another process would ask."""
import errno
import fcntl
import os


def is_held(path):
    if not os.path.exists(path):
        return False
    handle = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except (IOError, OSError) as error:
        assert error.errno in (errno.EAGAIN, errno.EACCES)
        return True
    finally:
        os.close(handle)
    return False
