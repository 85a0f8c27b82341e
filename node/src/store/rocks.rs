use super::{Column, KeyValueStore, Op, Result, StoreError};
use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamilyDescriptor, DB, DBCompressionType, Direction, IteratorMode, Options,
    WriteBatch, WriteOptions,
};
use std::path::{Path, PathBuf};

/// The store on disk: one RocksDB database with a column family per
/// [`Column`](super::Column).
pub struct RocksStore {
    db: DB,
    path: PathBuf,
}

fn backend(e: rocksdb::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl RocksStore {
    /// Open the database at `path`, creating it and any missing column
    /// family. Fails if another process holds it.
    pub fn open(path: &Path) -> Result<Self> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.set_compression_type(DBCompressionType::Lz4);
        opts.increase_parallelism(2);
        // Flush and compaction must not starve ingest on small machines.
        opts.set_max_background_jobs(2);
        opts.set_bytes_per_sync(1 << 20);
        // Small columns (heads, meta) rarely fill a memtable, so without a
        // bound the write-ahead log would keep everything since their last
        // flush: gigabytes to keep on disk and to replay at every start.
        opts.set_max_total_wal_size(256 << 20);
        let cache = Cache::new_lru_cache(256 << 20);
        let mut table = BlockBasedOptions::default();
        table.set_block_cache(&cache);
        table.set_bloom_filter(10.0, false);
        table.set_cache_index_and_filter_blocks(true);
        let cfs = Column::ALL.iter().map(|c| {
            let mut o = Options::default();
            // Hashes, keys and signatures do not compress: compressing them
            // only spends the CPU that signature checks need.
            let incompressible = matches!(
                c,
                Column::Entries | Column::Hashes | Column::Order | Column::Records | Column::Heads | Column::Tree
            );
            o.set_compression_type(if incompressible { DBCompressionType::None } else { DBCompressionType::Lz4 });
            o.set_block_based_table_factory(&table);
            o.set_write_buffer_size(64 << 20);
            // Most reads while judging are for keys that do not exist yet (a
            // new lot id, a record not seen): a memtable bloom filter answers
            // them without searching the memtable.
            o.set_memtable_whole_key_filtering(true);
            o.set_memtable_prefix_bloom_ratio(0.05);
            ColumnFamilyDescriptor::new(c.name(), o)
        });
        let db = DB::open_cf_descriptors(&opts, path, cfs).map_err(backend)?;
        Ok(Self { db, path: path.to_path_buf() })
    }

    /// RocksDB syncs the write-ahead log up to and including a synced
    /// write, so one synced write makes every buffered write before it
    /// durable: group commit.
    fn write_batch(&self, ops: Vec<Op>, sync: bool) -> Result<()> {
        let mut batch = WriteBatch::default();
        for op in ops {
            match op {
                Op::Put(c, k, v) => batch.put_cf(self.cf(c), k, v),
                Op::Delete(c, k) => batch.delete_cf(self.cf(c), k),
            }
        }
        let mut wo = WriteOptions::default();
        wo.set_sync(sync);
        self.db.write_opt(batch, &wo).map_err(backend)
    }

    /// Write every column's memtable to its SST files, then wait for the
    /// compactions under way to finish, for benchmarks: until then data sits
    /// in memory and in the write-ahead log (dropped only once every column
    /// holding data from it is flushed), and compaction inputs stay on disk
    /// beside their outputs. Writes must have stopped.
    pub fn flush(&self) -> Result<()> {
        let cfs: Vec<_> = Column::ALL.iter().map(|c| self.cf(*c)).collect();
        self.db.flush_cfs_opt(&cfs, &rocksdb::FlushOptions::default()).map_err(backend)?;
        self.db.wait_for_compact(&rocksdb::WaitForCompactOptions::default()).map_err(backend)
    }

    /// Bytes the store takes on disk, after [`RocksStore::flush`], for
    /// benchmarks.
    pub fn disk_bytes(&self) -> Result<u64> {
        // `DB::flush` flushes the default column only, which holds nothing.
        self.flush()?;
        Ok(dir_size(&self.path))
    }

    /// Bytes of one column's SST files (live ones only), for benchmarks:
    /// call [`RocksStore::flush`] first, or the memtable is left out.
    pub fn column_bytes(&self, col: Column) -> Result<u64> {
        let v = self.db.property_int_value_cf(self.cf(col), rocksdb::properties::LIVE_SST_FILES_SIZE);
        Ok(v.map_err(backend)?.unwrap_or(0))
    }

    /// Up to `limit` pairs from `from` on in `direction`, while keys start
    /// with `prefix`.
    fn collect(
        &self,
        col: Column,
        from: &[u8],
        direction: Direction,
        prefix: &[u8],
        limit: usize,
        max_bytes: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut out = Vec::new();
        let mut size = 0usize;
        for item in self.db.iterator_cf(self.cf(col), IteratorMode::From(from, direction)) {
            let (k, v) = item.map_err(backend)?;
            if !k.starts_with(prefix) || out.len() >= limit {
                break;
            }
            size = size.saturating_add(v.len());
            if size > max_bytes && !out.is_empty() {
                break;
            }
            out.push((k.to_vec(), v.to_vec()));
        }
        Ok(out)
    }

    fn cf(&self, col: Column) -> &rocksdb::ColumnFamily {
        // Every column is created at open, so the handle always exists.
        self.db.cf_handle(col.name()).expect("column family exists")
    }
}

impl KeyValueStore for RocksStore {
    fn get(&self, col: Column, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.db.get_cf(self.cf(col), key).map_err(backend)
    }

    fn write(&self, ops: Vec<Op>) -> Result<()> {
        self.write_batch(ops, true)
    }

    fn write_buffered(&self, ops: Vec<Op>) -> Result<()> {
        self.write_batch(ops, false)
    }

    fn scan(&self, col: Column, prefix: &[u8], start: &[u8], limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.scan_bytes(col, prefix, start, limit, usize::MAX)
    }

    fn scan_bytes(
        &self,
        col: Column,
        prefix: &[u8],
        start: &[u8],
        limit: usize,
        max_bytes: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let from = if start > prefix { start } else { prefix };
        self.collect(col, from, Direction::Forward, prefix, limit, max_bytes)
    }

    fn scan_back(&self, col: Column, prefix: &[u8], limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        // Start after every key with the prefix: the prefix followed by more
        // 0xff bytes than any key of it holds.
        let mut end = prefix.to_vec();
        end.extend_from_slice(&[0xff; 64]);
        self.collect(col, &end, Direction::Reverse, prefix, limit, usize::MAX)
    }
}

fn dir_size(p: &Path) -> u64 {
    std::fs::read_dir(p)
        .map(|rd| {
            rd.flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_atomic_and_scans_respect_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let s = RocksStore::open(dir.path()).unwrap();
        s.write(vec![
            Op::Put(Column::Lots, b"CF\0a".to_vec(), b"1".to_vec()),
            Op::Put(Column::Lots, b"CF\0b".to_vec(), b"2".to_vec()),
            Op::Put(Column::Lots, b"EU\0a".to_vec(), b"3".to_vec()),
        ])
        .unwrap();
        let got = s.scan(Column::Lots, b"CF\0", b"", 10).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(s.scan(Column::Lots, b"CF\0", b"CF\0b", 10).unwrap().len(), 1);
        assert_eq!(s.scan(Column::Lots, b"", b"", 2).unwrap().len(), 2);
        let back = s.scan_back(Column::Lots, b"CF\0", 10).unwrap();
        assert_eq!(back.iter().map(|(k, _)| k.as_slice()).collect::<Vec<_>>(), vec![&b"CF\0b"[..], b"CF\0a"]);
        assert_eq!(s.scan_back(Column::Lots, b"CF\0", 1).unwrap().len(), 1);
        assert_eq!(s.scan_back(Column::Lots, b"EU\0", 10).unwrap().len(), 1);
        assert!(s.scan_back(Column::Lots, b"AE\0", 10).unwrap().is_empty());
        s.write(vec![Op::Delete(Column::Lots, b"CF\0a".to_vec())]).unwrap();
        assert_eq!(s.get(Column::Lots, b"CF\0a").unwrap(), None);
        drop(s);
        let s = RocksStore::open(dir.path()).unwrap();
        assert_eq!(s.get(Column::Lots, b"EU\0a").unwrap(), Some(b"3".to_vec()));
        assert!(s.get(Column::Certs, b"x").unwrap().is_none());
    }
}
