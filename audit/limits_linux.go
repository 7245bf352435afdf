package audit

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// MachineLimits returns this machine's physical memory (or the cgroup's memory limit, when lower) and
// the free space of the file system that holds dir (or, while dir does not exist, its nearest existing
// parent), with the size of what dir already holds.
func MachineLimits(dir string) Limits {
	var l Limits
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) == nil {
		l.Memory, l.MemorySource = int64(si.Totalram)*int64(si.Unit), "physical memory"
	}
	for _, f := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && v > 0 && (l.Memory == 0 || v < l.Memory) {
			l.Memory, l.MemorySource = v, "the memory limit of the process's cgroup, "+f
		}
		break
	}
	path, err := filepath.Abs(dir)
	if err != nil {
		return l
	}
	for {
		var st unix.Statfs_t
		if err := unix.Statfs(path, &st); err == nil {
			l.Disk, l.DiskPath = int64(st.Bavail)*int64(st.Bsize), path
			break
		} else if !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ENOTDIR) {
			return l
		}
		parent := filepath.Dir(path)
		if parent == path {
			return l
		}
		path = parent
	}
	filepath.WalkDir(dir, func(_ string, e fs.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() {
			if info, err := e.Info(); err == nil {
				l.DiskUsed += info.Size()
			}
		}
		return nil
	})
	return l
}
