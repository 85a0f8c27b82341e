//! An in-memory store behind the same trait, for tests of what the ledger
//! does when storage fails. It keeps the RocksDB semantics the ledger relies
//! on (each write atomic, a buffered write durable only once a synced write
//! follows) and can fail the Nth read or write, or lose power: [`MemoryStore::crash`]
//! returns what a restart would find.

use super::{Column, KeyValueStore, Op, Result, StoreError};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

type Columns = BTreeMap<&'static str, BTreeMap<Vec<u8>, Vec<u8>>>;

#[derive(Default)]
struct State {
    /// What reads see: every write that succeeded.
    live: Columns,
    /// What survives a power loss: the live state as of the last synced write.
    durable: Columns,
}

/// Counts reads and writes from 1; the one numbered `fail_at` fails, and so
/// does every later one while `sticky`.
#[derive(Default)]
struct Fault {
    count: AtomicU64,
    fail_at: AtomicU64,
    sticky: std::sync::atomic::AtomicBool,
}

impl Fault {
    fn tick(&self, what: &str) -> Result<()> {
        let n = self.count.fetch_add(1, Ordering::SeqCst) + 1;
        let at = self.fail_at.load(Ordering::SeqCst);
        if at != 0 && (n == at || (n > at && self.sticky.load(Ordering::SeqCst))) {
            return Err(StoreError::Backend(format!("injected failure of {what} number {n}")));
        }
        Ok(())
    }
}

type Hook = Box<dyn FnMut() + Send>;

/// A store held in memory, behind the same trait as RocksDB, for tests of
/// faults: it fails the Nth read or write on demand and can lose power
/// ([`MemoryStore::crash`] keeps only what was synced).
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    reads: Fault,
    writes: Fault,
    /// Called at each synced write, before it applies: a test looks at what
    /// the node serves while a batch is written but not yet durable.
    before_sync: Mutex<Option<Hook>>,
}

fn apply(cols: &mut Columns, ops: &[Op]) {
    for op in ops {
        match op {
            Op::Put(c, k, v) => {
                cols.entry(c.name()).or_default().insert(k.clone(), v.clone());
            }
            Op::Delete(c, k) => {
                cols.entry(c.name()).or_default().remove(k);
            }
        }
    }
}

impl MemoryStore {
    /// An empty store that never fails until told to.
    pub fn new() -> Self {
        Self::default()
    }

    /// Fail the `n`th read from now (counting from 1); with `sticky`, every
    /// read after it too. 0 turns failures off.
    pub fn fail_read(&self, n: u64, sticky: bool) {
        Self::arm(&self.reads, n, sticky);
    }

    /// The same for writes, buffered or synced.
    pub fn fail_write(&self, n: u64, sticky: bool) {
        Self::arm(&self.writes, n, sticky);
    }

    fn arm(f: &Fault, n: u64, sticky: bool) {
        f.count.store(0, Ordering::SeqCst);
        f.sticky.store(sticky, Ordering::SeqCst);
        f.fail_at.store(n, Ordering::SeqCst);
    }

    /// Reads and writes since the last `fail_*` call: how many steps a
    /// piece of work takes, to fail each in turn.
    pub fn counts(&self) -> (u64, u64) {
        (self.reads.count.load(Ordering::SeqCst), self.writes.count.load(Ordering::SeqCst))
    }

    /// Call `f` at the start of every synced write from now on.
    pub fn before_sync(&self, f: impl FnMut() + Send + 'static) {
        *self.before_sync.lock().expect("hook lock") = Some(Box::new(f));
    }

    /// What a restart after a power loss finds: the last synced state.
    pub fn crash(&self) -> MemoryStore {
        let durable = self.state.lock().expect("store lock").durable.clone();
        MemoryStore { state: Mutex::new(State { live: durable.clone(), durable }), ..Default::default() }
    }

    fn write_ops(&self, ops: Vec<Op>, sync: bool) -> Result<()> {
        self.writes.tick("write")?;
        if sync {
            let hook = self.before_sync.lock().expect("hook lock").take();
            if let Some(mut f) = hook {
                f();
                *self.before_sync.lock().expect("hook lock") = Some(f);
            }
        }
        let mut s = self.state.lock().expect("store lock");
        apply(&mut s.live, &ops);
        if sync {
            s.durable = s.live.clone();
        }
        Ok(())
    }

    fn range(&self, col: Column) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.reads.tick("read")?;
        let s = self.state.lock().expect("store lock");
        Ok(s.live.get(col.name()).map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default())
    }
}

impl KeyValueStore for MemoryStore {
    fn get(&self, col: Column, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.reads.tick("read")?;
        let s = self.state.lock().expect("store lock");
        Ok(s.live.get(col.name()).and_then(|m| m.get(key)).cloned())
    }

    fn write(&self, ops: Vec<Op>) -> Result<()> {
        self.write_ops(ops, true)
    }

    fn write_buffered(&self, ops: Vec<Op>) -> Result<()> {
        self.write_ops(ops, false)
    }

    fn scan(&self, col: Column, prefix: &[u8], start: &[u8], limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let from = if start > prefix { start } else { prefix };
        Ok(self
            .range(col)?
            .into_iter()
            .filter(|(k, _)| k.as_slice() >= from && k.starts_with(prefix))
            .take(limit)
            .collect())
    }

    fn scan_back(&self, col: Column, prefix: &[u8], limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        Ok(self.range(col)?.into_iter().rev().filter(|(k, _)| k.starts_with(prefix)).take(limit).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffered_writes_survive_a_crash_only_after_a_synced_one() {
        let s = MemoryStore::new();
        s.write_buffered(vec![Op::Put(Column::Lots, b"a".to_vec(), b"1".to_vec())]).unwrap();
        assert_eq!(s.get(Column::Lots, b"a").unwrap(), Some(b"1".to_vec()));
        assert_eq!(s.crash().get(Column::Lots, b"a").unwrap(), None);
        s.write(vec![Op::Put(Column::Lots, b"b".to_vec(), b"2".to_vec())]).unwrap();
        let after = s.crash();
        assert_eq!(after.get(Column::Lots, b"a").unwrap(), Some(b"1".to_vec()));
        assert_eq!(after.get(Column::Lots, b"b").unwrap(), Some(b"2".to_vec()));
    }

    #[test]
    fn the_nth_read_or_write_fails_and_changes_nothing() {
        let s = MemoryStore::new();
        s.fail_write(2, false);
        s.write(vec![Op::Put(Column::Lots, b"a".to_vec(), b"1".to_vec())]).unwrap();
        assert!(s.write(vec![Op::Put(Column::Lots, b"b".to_vec(), b"2".to_vec())]).is_err());
        s.write(vec![Op::Put(Column::Lots, b"c".to_vec(), b"3".to_vec())]).unwrap();
        assert_eq!(s.scan(Column::Lots, b"", b"", 10).unwrap().len(), 2);
        s.fail_read(1, true);
        assert!(s.get(Column::Lots, b"a").is_err());
        assert!(s.scan_back(Column::Lots, b"", 10).is_err());
        s.fail_read(0, false);
        assert_eq!(s.scan_back(Column::Lots, b"", 1).unwrap()[0].0, b"c".to_vec());
        assert_eq!(s.scan(Column::Lots, b"", b"b", 10).unwrap().len(), 1);
    }
}
