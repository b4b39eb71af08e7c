// Command pitrload is the Go part of scripts/bench-pitr.sh: it writes small transactions as
// fast as it can for a while and measures, for each one, how long after its commit the archive
// held it (the archiver's lag); and it downloads and decompresses an archive's segments for the
// stock replay (mariadb-binlog | mariadb). It reads the same environment as backupctl
// (BACKUP_DB_*, BACKUP_S3_*, AWS_*). It is not shipped.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/backupctl/backupctl/backup/binlog"
	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/storage"
)

const usage = `usage:
  pitrload load -db DB -archive HOST:PORT [-writers 16] [-duration 30s]
      create DB.t, write autocommit INSERTs for the duration, wait until the archive holds
      them, print "tx N rate R/s lag_p50 S lag_p99 S lag_max S"
  pitrload fetch -archive HOST:PORT -dir DIR
      download and decompress every segment of the archive into DIR (seq.binlog)`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pitrload:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) < 1 {
		return errors.New(usage)
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	db := fs.String("db", "", "database")
	archive := fs.String("archive", "", "archive (host:port)")
	writers := fs.Int("writers", 16, "connections writing at once")
	duration := fs.Duration("duration", 30*time.Second, "how long to write")
	dir := fs.String("dir", "", "where fetch writes the segments")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	b, err := storage.Open(ctx, storage.Config{URL: os.Getenv("BACKUP_S3_ENDPOINT"), Bucket: os.Getenv("BACKUP_S3_BUCKET"),
		Prefix: os.Getenv("BACKUP_S3_PREFIX"), Region: os.Getenv("BACKUP_S3_REGION"),
		AccessKey: os.Getenv("AWS_ACCESS_KEY_ID"), SecretKey: os.Getenv("AWS_SECRET_ACCESS_KEY")})
	if err != nil {
		return err
	}
	switch {
	case args[0] == "load" && *db != "" && *archive != "":
		return load(ctx, b, *db, *archive, *writers, *duration)
	case args[0] == "fetch" && *archive != "" && *dir != "":
		return fetch(ctx, b, *archive, *dir)
	}
	return errors.New(usage)
}

func openDB() (*sql.DB, error) {
	mc := mysql.NewConfig()
	mc.User, mc.Passwd = os.Getenv("BACKUP_DB_USER"), os.Getenv("BACKUP_DB_PASSWORD")
	mc.Net, mc.Addr = "tcp", os.Getenv("BACKUP_DB_HOST")+":"+os.Getenv("BACKUP_DB_PORT")
	c, err := mysql.NewConnector(mc)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(c), nil
}

// commit is one transaction: its GTID sequence number and when its COMMIT returned.
type commit struct {
	seq uint64
	at  time.Time
}

func load(ctx context.Context, b storage.Bucket, dbName, archive string, writers int, d time.Duration) error {
	db, err := openDB()
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(writers + 1)
	for _, q := range []string{"CREATE DATABASE IF NOT EXISTS `" + dbName + "`",
		"CREATE TABLE IF NOT EXISTS `" + dbName + "`.t (id BIGINT AUTO_INCREMENT PRIMARY KEY, w INT, v VARCHAR(64))"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	var mu sync.Mutex
	var commits []commit
	end := time.Now().Add(d)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := db.Conn(ctx)
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close()
			var mine []commit
			for i := 0; time.Now().Before(end); i++ {
				if _, err := conn.ExecContext(ctx, "INSERT INTO `"+dbName+"`.t (w, v) VALUES (?, 'small transaction')", w); err != nil {
					errs <- err
					return
				}
				at := time.Now()
				var gtid string
				if err := conn.QueryRowContext(ctx, "SELECT @@last_gtid").Scan(&gtid); err != nil {
					errs <- err
					return
				}
				seq, _ := strconv.ParseUint(gtid[strings.LastIndex(gtid, "-")+1:], 10, 64)
				mine = append(mine, commit{seq, at})
			}
			mu.Lock()
			commits = append(commits, mine...)
			mu.Unlock()
		}()
	}
	var entries []*binlog.Entry
	poll := func() error {
		es, err := binlog.LoadIndex(ctx, b, archive)
		if err != nil {
			return err
		}
		entries = es
		return nil
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for waiting := true; waiting; {
		select {
		case <-done:
			waiting = false
		case err := <-errs:
			return err
		case <-time.After(250 * time.Millisecond):
			if err := poll(); err != nil {
				return err
			}
		}
	}
	if len(commits) == 0 {
		return errors.New("no transaction committed")
	}
	last := slices.MaxFunc(commits, func(a, b commit) int { return int(a.seq) - int(b.seq) })
	deadline := time.Now().Add(5 * time.Minute)
	for !archived(entries, last.seq) {
		if time.Now().After(deadline) {
			return fmt.Errorf("transaction %d not archived within 5 minutes", last.seq)
		}
		time.Sleep(250 * time.Millisecond)
		if err := poll(); err != nil {
			return err
		}
	}
	var lags []float64
	for _, c := range commits {
		for _, e := range entries {
			first, _ := binlog.ParseGTID(e.FirstGTID)
			lastG, _ := binlog.ParseGTID(e.LastGTID)
			if c.seq >= first.Seq && c.seq <= lastG.Seq {
				lags = append(lags, e.Written.Sub(c.at).Seconds()) // the entry is written last

				break
			}
		}
	}
	if len(lags) != len(commits) {
		return fmt.Errorf("%d of %d transactions found in the archive", len(lags), len(commits))
	}
	slices.Sort(lags)
	pct := func(p float64) float64 { return lags[min(len(lags)-1, int(p*float64(len(lags))))] }
	fmt.Printf("tx %d rate %.0f lag_p50 %.2f lag_p99 %.2f lag_max %.2f\n", len(commits), float64(len(commits))/d.Seconds(), pct(0.50), pct(0.99), lags[len(lags)-1])
	return nil
}

// archived says whether the archive holds transaction seq of domain 0.
func archived(es []*binlog.Entry, seq uint64) bool {
	if len(es) == 0 {
		return false
	}
	st, err := binlog.ParseState(es[len(es)-1].EndState)
	return err == nil && st.Contains(binlog.GTID{Domain: 0, Server: 0, Seq: seq})
}

func fetch(ctx context.Context, b storage.Bucket, archive, dir string) error {
	es, err := binlog.LoadIndex(ctx, b, archive)
	if err != nil {
		return err
	}
	for _, e := range es {
		rc, err := b.Get(ctx, e.Key)
		if err != nil {
			return err
		}
		d, err := format.NewDecompressor(rc, e.Compression)
		if err != nil {
			rc.Close()
			return err
		}
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%012d.binlog", e.Seq)))
		if err == nil {
			_, err = io.Copy(f, d)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		d.Close()
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}
