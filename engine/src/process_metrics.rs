//! The standard `process_*` metrics (CPU, memory, file descriptors, start time) that every
//! Prometheus client exports, read from `/proc/self` when `/metrics` is rendered. The
//! prometheus crate's own collector would add `procfs` and its dependencies for six numbers.
//! Elsewhere than Linux the families are there, at zero.

use prometheus::{Counter, Gauge, Registry};

/// Linux's clock ticks per second for `/proc/<pid>/stat` times (`USER_HZ`: 100 on every
/// architecture Switchboard builds for; reading `sysconf` would need `unsafe`).
const TICKS_PER_SECOND: f64 = 100.0;

/// The process families.
pub(crate) struct ProcessMetrics {
    cpu_seconds: Counter,
    resident_memory: Gauge,
    virtual_memory: Gauge,
    open_fds: Gauge,
    max_fds: Gauge,
    start_time: Gauge,
}

impl ProcessMetrics {
    /// Registers the families in `registry`.
    pub(crate) fn register(registry: &Registry) -> Self {
        let gauge = |name: &str, help: &str| {
            let gauge = Gauge::new(name, help).expect("valid metric");
            registry
                .register(Box::new(gauge.clone()))
                .expect("metric names are unique constants");
            gauge
        };
        let cpu_seconds = Counter::new(
            "process_cpu_seconds_total",
            "Total user and system CPU time spent in seconds",
        )
        .expect("valid metric");
        registry
            .register(Box::new(cpu_seconds.clone()))
            .expect("metric names are unique constants");
        Self {
            cpu_seconds,
            resident_memory: gauge(
                "process_resident_memory_bytes",
                "Resident memory size in bytes",
            ),
            virtual_memory: gauge(
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes",
            ),
            open_fds: gauge("process_open_fds", "Number of open file descriptors"),
            max_fds: gauge("process_max_fds", "Maximum number of open file descriptors"),
            start_time: gauge(
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds",
            ),
        }
    }

    /// Reads the figures again from `/proc/self`.
    pub(crate) fn refresh(&self) {
        if let Ok(stat) = std::fs::read_to_string("/proc/self/stat")
            && let Some(times) = StatTimes::parse(&stat)
        {
            let cpu = (times.utime + times.stime) as f64 / TICKS_PER_SECOND;
            let grown = cpu - self.cpu_seconds.get();
            if grown > 0.0 {
                self.cpu_seconds.inc_by(grown);
            }
            if let Some(boot) = boot_time() {
                self.start_time
                    .set(boot + times.start_ticks as f64 / TICKS_PER_SECOND);
            }
        }
        if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
            if let Some(kb) = status_kb(&status, "VmRSS:") {
                self.resident_memory.set(kb * 1024.0);
            }
            if let Some(kb) = status_kb(&status, "VmSize:") {
                self.virtual_memory.set(kb * 1024.0);
            }
        }
        if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
            self.open_fds.set(fds.count() as f64);
        }
        if let Ok(limits) = std::fs::read_to_string("/proc/self/limits")
            && let Some(max) = max_open_files(&limits)
        {
            self.max_fds.set(max);
        }
    }
}

/// The times of `/proc/self/stat`, in clock ticks.
#[derive(Debug, PartialEq)]
struct StatTimes {
    utime: u64,
    stime: u64,
    start_ticks: u64,
}

impl StatTimes {
    /// Fields 14, 15 and 22, counted after the command name (which may hold spaces and
    /// parentheses, so the fields start after its last `)`).
    fn parse(stat: &str) -> Option<Self> {
        let rest = &stat[stat.rfind(')')? + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // `rest` starts at field 3 (the state).
        let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
        Some(Self {
            utime: field(14)?,
            stime: field(15)?,
            start_ticks: field(22)?,
        })
    }
}

/// The boot time in seconds since the epoch (`btime` of `/proc/stat`).
fn boot_time() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    stat.lines()
        .find_map(|line| line.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()
}

/// A `kB` line of `/proc/self/status`.
fn status_kb(status: &str, key: &str) -> Option<f64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The soft limit of open files in `/proc/self/limits`.
fn max_open_files(limits: &str) -> Option<f64> {
    limits
        .lines()
        .find_map(|line| line.strip_prefix("Max open files"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_command_name() {
        let stat =
            "4242 (a (weird) name) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 9 0 123456 100000 200";
        assert_eq!(
            StatTimes::parse(stat),
            Some(StatTimes {
                utime: 250,
                stime: 50,
                start_ticks: 123456
            })
        );
        assert_eq!(StatTimes::parse("no parentheses"), None);
    }

    #[test]
    fn status_and_limits_lines_are_read() {
        let status = "Name:\tswitchboard\nVmSize:\t  20000 kB\nVmRSS:\t   4096 kB\n";
        assert_eq!(status_kb(status, "VmRSS:"), Some(4096.0));
        assert_eq!(status_kb(status, "VmSize:"), Some(20000.0));
        let limits = "Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 524288               files\n";
        assert_eq!(max_open_files(limits), Some(1024.0));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_reports_real_figures() {
        let registry = Registry::new();
        let process = ProcessMetrics::register(&registry);
        process.refresh();
        assert!(process.resident_memory.get() > 0.0);
        assert!(process.open_fds.get() > 0.0);
        assert!(process.start_time.get() > 1.7e9);
    }
}
