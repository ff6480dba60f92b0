//! GitPython, one `python` process per sample; the script times the
//! operation itself, so interpreter start, `import git` and the untimed
//! setup are left out.

use std::ffi::OsStr;
use std::path::Path;
use std::time::Duration;

use bench_support::PythonPeer;

use crate::workload::{Sizes, Workload};
use crate::Result;

/// `gitpython_bench.py` and the Python with GitPython.
#[derive(Debug, Clone)]
pub struct GitPython(pub PythonPeer);

impl GitPython {
    /// GitPython's `__version__`, which also proves it is installed.
    pub fn version(&self) -> Result<String> {
        Ok(self.0.module_version("git")?)
    }

    /// Runs one sample of `workload` into `dest`; `url` is for the clones.
    pub fn measure(
        &self,
        workload: Workload,
        dest: &Path,
        url: &str,
        sizes: &Sizes,
    ) -> Result<Duration> {
        let ops = sizes.ops.to_string();
        let report = self.0.run([
            OsStr::new(workload.python_name()),
            dest.as_os_str(),
            OsStr::new("--url"),
            OsStr::new(url),
            OsStr::new("--ops"),
            OsStr::new(&ops),
        ])?;
        Ok(Duration::from_secs_f64(report.number("seconds")?))
    }
}
