package scale

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// What the benchmark reads of processes from /proc: CPU time and memory.

// clockTicks is the unit of /proc/PID/stat's times (USER_HZ), 100 on
// every Linux architecture Go supports.
const clockTicks = 100

// processTreeCPU reads the user and system CPU time of root and of all
// its descendants from /proc, summed by command name, in seconds.
func processTreeCPU(root int) (map[string]float64, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("listing processes: %w", err)
	}
	type proc struct {
		ppid int
		name string
		cpu  float64
	}
	procs := map[int]proc{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue // exited meanwhile
		}
		// "pid (comm) state ppid ... utime stime ...": comm may hold
		// spaces, so fields are counted from its closing parenthesis.
		line := string(data)
		open, closing := strings.IndexByte(line, '('), strings.LastIndexByte(line, ')')
		if open < 0 || closing < open {
			continue
		}
		f := strings.Fields(line[closing+1:])
		if len(f) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		utime, _ := strconv.ParseFloat(f[11], 64)
		stime, _ := strconv.ParseFloat(f[12], 64)
		procs[pid] = proc{ppid: ppid, name: line[open+1 : closing], cpu: (utime + stime) / clockTicks}
	}
	out := map[string]float64{}
	for pid, p := range procs {
		for a := pid; a > 1; a = procs[a].ppid {
			if a == root {
				out[p.name] += p.cpu
				break
			}
			if _, ok := procs[a]; !ok {
				break
			}
		}
	}
	return out, nil
}

// memory reads a process's peak and current resident set from
// /proc/PID/status (VmHWM and VmRSS), in KiB.
func memory(pid int) (peak, current int, err error) {
	st, err := procStatus(pid)
	return st["VmHWM"], st["VmRSS"], err
}

// residentSplit reads how much of a process's resident set is anonymous
// memory (its heap, stacks) and how much is mapped files (its binary's
// code and data), in KiB.
func residentSplit(pid int) (anon, file int, err error) {
	st, err := procStatus(pid)
	return st["RssAnon"], st["RssFile"], err
}

// procStatus reads the "Key: N kB" lines of /proc/PID/status, in KiB.
func procStatus(pid int) (map[string]int, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, fmt.Errorf("reading the manager's memory: %w", err)
	}
	out := map[string]int{}
	for line := range strings.SplitSeq(string(data), "\n") {
		key, val, ok := strings.Cut(line, ":")
		if v, kb := strings.CutSuffix(strings.TrimSpace(val), " kB"); ok && kb {
			out[key], _ = strconv.Atoi(v)
		}
	}
	return out, nil
}

// resetPeak resets the process's VmHWM to its current RSS (Linux
// clear_refs 5), so that the steady state's peak can be told from the cold
// start's.
func resetPeak(pid int) error {
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
		return fmt.Errorf("resetting the manager's peak RSS: %w", err)
	}
	return nil
}
