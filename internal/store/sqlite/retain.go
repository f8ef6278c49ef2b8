package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/kordon-dev/kordon/internal/store"
)

// retainBatch bounds one delete, so that readers and writers are never
// held up for long by retention.
const retainBatch = 20000

// Retain removes records older than MaxAge, then the oldest records until
// the used size is at most MaxBytes, and returns the freed pages to the
// file system. A day entirely outside the bounds is dropped whole (its
// tables and indexes); a partly outside day loses its oldest records in
// batches.
func (s *Store) Retain(ctx context.Context, r store.Retention, now time.Time) (int64, error) {
	var removed int64
	if r.MaxAge > 0 {
		cut := now.Add(-r.MaxAge).UnixNano()
		n, err := s.retainAge(ctx, cut)
		removed += n
		if err != nil {
			return removed, fmt.Errorf("retention by age: %w", err)
		}
	}
	if r.MaxBytes > 0 {
		n, err := s.retainSize(ctx, r.MaxBytes)
		removed += n
		if err != nil {
			return removed, fmt.Errorf("retention by size: %w", err)
		}
	}
	if removed > 0 {
		s.mu.Lock()
		_, err := s.db.ExecContext(ctx, "PRAGMA incremental_vacuum")
		if err == nil {
			_, err = s.db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
		}
		s.mu.Unlock()
		if err != nil {
			return removed, fmt.Errorf("retention: vacuum: %w", err)
		}
	}
	return removed, nil
}

func (s *Store) retainAge(ctx context.Context, cut int64) (int64, error) {
	days, err := listDays(ctx, s.db)
	if err != nil {
		return 0, err
	}
	var removed int64
	for _, d := range days {
		if d > dayOf(cut) {
			break
		}
		if d < dayOf(cut) {
			n, err := s.dropDay(ctx, d)
			removed += n
			if err != nil {
				return removed, err
			}
			continue
		}
		for {
			n, err := s.deleteOldest(ctx, d, "WHERE time < ?", cut)
			removed += n
			if err != nil {
				return removed, err
			}
			if n < retainBatch {
				break
			}
		}
	}
	return removed, nil
}

func (s *Store) retainSize(ctx context.Context, maxBytes int64) (int64, error) {
	var removed int64
	_, count, err := s.used(ctx)
	if err != nil {
		return 0, err
	}
	for count > 0 {
		used, err := s.usedBytes(ctx)
		if err != nil {
			return removed, err
		}
		if used <= maxBytes {
			break
		}
		days, err := listDays(ctx, s.db)
		if err != nil || len(days) == 0 {
			return removed, err
		}
		d := days[0]
		var inDay int64
		if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+evTable(d)).Scan(&inDay); err != nil {
			return removed, err
		}
		// Delete the share of the oldest records that holds the excess,
		// at least one and at most one batch, or the whole oldest day.
		n := (used - maxBytes) * count / used
		n = min(max(n+1, 1), retainBatch)
		var got int64
		if n >= inDay {
			got, err = s.dropDay(ctx, d)
		} else {
			got, err = s.deleteOldest(ctx, d, "ORDER BY time, id LIMIT ?", n)
		}
		removed += got
		count -= got
		if err != nil {
			return removed, err
		}
		if got == 0 && n < inDay {
			break
		}
	}
	return removed, nil
}

// dropDay drops a day's tables and returns how many records they held.
func (s *Store) dropDay(ctx context.Context, d int64) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	// Write first: a transaction that reads first and then writes fails
	// with SQLITE_BUSY, without waiting, when readers are active.
	if _, err := tx.ExecContext(ctx, "UPDATE seq SET next = next"); err != nil {
		return 0, fmt.Errorf("drop %s: %w", dayName(d), err)
	}
	var n int64
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+evTable(d)).Scan(&n); err != nil {
		return 0, fmt.Errorf("drop %s: %w", dayName(d), err)
	}
	if _, err := tx.ExecContext(ctx, "DROP TABLE "+evTable(d)+"; DROP TABLE "+docTable(d)+"; DROP TABLE "+sumTable(d)); err != nil {
		return 0, fmt.Errorf("drop %s: %w", dayName(d), err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("drop %s: %w", dayName(d), err)
	}
	delete(s.days, d)
	return n, nil
}

// deleteOldest deletes up to retainBatch records of a day chosen by sel
// (a WHERE or ORDER BY … LIMIT clause), documents and columns alike.
func (s *Store) deleteOldest(ctx context.Context, d int64, sel string, arg int64) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	ids := "SELECT id FROM " + evTable(d) + " " + sel
	if sel[0] == 'W' {
		ids += fmt.Sprintf(" ORDER BY id LIMIT %d", retainBatch)
	}
	// The same records (the selection is ordered) leave the sums, the
	// documents and the columns.
	if _, err := tx.ExecContext(ctx, "INSERT INTO "+sumTable(d)+"("+sumColumns+", n) SELECT "+sumColumns+", -COUNT(*) FROM "+evTable(d)+
		" WHERE id IN ("+ids+") GROUP BY "+sumColumns+" ON CONFLICT DO UPDATE SET n = n + excluded.n", arg); err != nil {
		return 0, fmt.Errorf("delete from %s: %w", dayName(d), err)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM "+sumTable(d)+" WHERE n = 0"); err != nil {
		return 0, fmt.Errorf("delete from %s: %w", dayName(d), err)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM "+docTable(d)+" WHERE id IN ("+ids+")", arg); err != nil {
		return 0, fmt.Errorf("delete from %s: %w", dayName(d), err)
	}
	res, err := tx.ExecContext(ctx, "DELETE FROM "+evTable(d)+" WHERE id IN ("+ids+")", arg)
	if err != nil {
		return 0, fmt.Errorf("delete from %s: %w", dayName(d), err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	return n, tx.Commit()
}

// usedBytes returns the bytes of the database's pages in use.
func (s *Store) usedBytes(ctx context.Context) (int64, error) {
	var pages, free, size int64
	for _, p := range []struct {
		q   string
		dst *int64
	}{
		{"PRAGMA page_count", &pages},
		{"PRAGMA freelist_count", &free},
		{"PRAGMA page_size", &size},
	} {
		if err := s.db.QueryRowContext(ctx, p.q).Scan(p.dst); err != nil {
			return 0, err
		}
	}
	return (pages - free) * size, nil
}

// used returns the bytes of the database's pages in use and the number of
// records.
func (s *Store) used(ctx context.Context) (int64, int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, err
	}
	defer tx.Rollback()
	used, err := s.usedBytes(ctx)
	if err != nil {
		return 0, 0, err
	}
	count, _, err := countDays(ctx, tx)
	return used, count, err
}

// countDays returns the number of records and the days, in one snapshot.
func countDays(ctx context.Context, tx *sql.Tx) (int64, []int64, error) {
	days, err := listDays(ctx, tx)
	if err != nil {
		return 0, nil, err
	}
	var count int64
	for _, d := range days {
		var n int64
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+evTable(d)).Scan(&n); err != nil {
			return 0, nil, err
		}
		count += n
	}
	return count, days, nil
}

// Stats reports the number of records, the used size and the time span.
func (s *Store) Stats(ctx context.Context) (store.Stats, error) {
	used, err := s.usedBytes(ctx)
	if err != nil {
		return store.Stats{}, fmt.Errorf("stats: %w", err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return store.Stats{}, fmt.Errorf("stats: %w", err)
	}
	defer tx.Rollback()
	count, days, err := countDays(ctx, tx)
	if err != nil {
		return store.Stats{}, fmt.Errorf("stats: %w", err)
	}
	st := store.Stats{Records: count, Bytes: used}
	if count == 0 {
		return st, nil
	}
	// Empty days (emptied by retention by size) have no times.
	var lo, hi *int64
	for _, d := range days {
		if err := tx.QueryRowContext(ctx, "SELECT MIN(time) FROM "+evTable(d)).Scan(&lo); err != nil {
			return st, fmt.Errorf("stats: %w", err)
		}
		if lo != nil {
			break
		}
	}
	for i := len(days) - 1; i >= 0; i-- {
		if err := tx.QueryRowContext(ctx, "SELECT MAX(time) FROM "+evTable(days[i])).Scan(&hi); err != nil {
			return st, fmt.Errorf("stats: %w", err)
		}
		if hi != nil {
			break
		}
	}
	if lo != nil && hi != nil {
		st.Oldest, st.Newest = time.Unix(0, *lo).UTC(), time.Unix(0, *hi).UTC()
	}
	return st, nil
}
