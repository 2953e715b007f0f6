//! CPU accounting from /proc (Linux): the machine's and this process's shares during a
//! run, and the ticks each of this process's threads used.

/// CPU ticks (user and system) this process's threads have used, summed by thread name.
/// Threads that ended are missing, so only live ones (workers, the writer) are useful.
pub(super) fn thread_ticks() -> std::collections::BTreeMap<String, u64> {
    let mut ticks = std::collections::BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return ticks;
    };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = stat[open + 1..close].to_owned();
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        let used = fields
            .get(11)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            + fields
                .get(12)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        *ticks.entry(name).or_insert(0) += used;
    }
    ticks
}

/// CPU time in clock ticks from /proc: the whole machine's and this process's.
#[derive(Debug, Clone, Copy)]
pub(super) struct CpuTimes {
    pub(super) total: u64,
    pub(super) busy: u64,
    pub(super) own: u64,
}

impl CpuTimes {
    pub(super) fn now() -> Option<CpuTimes> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        // cpu user nice system idle iowait irq softirq steal ...
        let ticks: Vec<u64> = stat
            .lines()
            .next()?
            .split_whitespace()
            .skip(1)
            .take(8)
            .map(str::parse)
            .collect::<Result<_, _>>()
            .ok()?;
        let total: u64 = ticks.iter().sum();
        let idle = ticks.get(3)? + ticks.get(4)?;
        // The process's own line: utime and stime are the 14th and 15th fields, counted
        // past the command name (which may hold spaces) as the 12th and 13th.
        let own_stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let rest = &own_stat[own_stat.rfind(')')? + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let own = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        Some(CpuTimes {
            total,
            busy: total.saturating_sub(idle),
            own,
        })
    }

    /// (this process, other processes) as shares of all the machine's CPU time between
    /// `self` and `later`.
    pub(super) fn shares_until(&self, later: &CpuTimes) -> (f64, f64) {
        let total = later.total.saturating_sub(self.total).max(1) as f64;
        let own = later.own.saturating_sub(self.own) as f64;
        let busy = later.busy.saturating_sub(self.busy) as f64;
        (
            (own / total).clamp(0.0, 1.0),
            ((busy - own) / total).clamp(0.0, 1.0),
        )
    }
}
