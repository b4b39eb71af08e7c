package dump

import (
	"errors"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/backupctl/backupctl/backup/internal/backuptest"
	"github.com/backupctl/backupctl/backup/sqltext"
	"github.com/backupctl/backupctl/internal/testenv"
)

// TestDumpLockEndsWhenClientFallsSilent freezes the network between a dump and the server
// while the dump holds BACKUP STAGE BLOCK_DDL, as when its pod is killed with its network
// namespace: nothing more arrives, no reset either. The server must end that session, and its
// lock, within seconds (lockIdle), not after wait_timeout: another BACKUP STAGE START gets the
// lock. When the network comes back, the dump must fail, not go on without its lock.
func TestDumpLockEndsWhenClientFallsSilent(t *testing.T) {
	s := dumpTestEnv(t)
	db := testenv.UniqueName("bk_silent")
	s.dumpDropAtEnd(t, db)
	dumpClient(t, s.src, []byte("CREATE DATABASE "+sqltext.QuoteIdent(db)+";\nCREATE TABLE "+sqltext.QuoteIdent(db)+".t (id INT PRIMARY KEY);\n"))

	defer func(d time.Duration) { lockIdle = d }(lockIdle)
	lockIdle = 2 * time.Second
	p := newFreezeProxy(t, net.JoinHostPort(s.src.Host, strconv.Itoa(s.src.Port)))
	cfg := s.src
	cfg.Host, cfg.Port = p.addr.IP.String(), p.addr.Port

	held, resume := make(chan struct{}), make(chan struct{})
	var resumed sync.Once
	testLockHeld = func() { p.freeze(); close(held); <-resume }
	t.Cleanup(func() { resumed.Do(func() { close(resume) }); testLockHeld = nil })
	b := backuptest.NewMemBucket()
	runErr := make(chan error, 1)
	go func() {
		_, err := Run(t.Context(), cfg, b, Options{Databases: []string{db}})
		runErr <- err
	}()
	select {
	case <-held:
	case err := <-runErr:
		t.Fatalf("the dump ended before it held the lock: %v", err)
	}

	c := dumpOpenDB(t, s.src)
	if _, err := c.ExecContext(t.Context(), "SET SESSION lock_wait_timeout = 20"); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	if _, err := c.ExecContext(t.Context(), "BACKUP STAGE START"); err != nil {
		t.Fatalf("the silent dump's session still holds the backup lock after %v: %v", time.Since(t0).Round(time.Second), err)
	}
	t.Logf("backup lock free %v after the network froze", time.Since(t0).Round(100*time.Millisecond))
	if _, err := c.ExecContext(t.Context(), "BACKUP STAGE END"); err != nil {
		t.Fatal(err)
	}

	p.thaw()
	resumed.Do(func() { close(resume) })
	select {
	case err := <-runErr:
		if err == nil {
			t.Fatal("the dump succeeded after the server had ended its lock session")
		}
		t.Logf("the dump failed as it must: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("the dump did not end within 2 minutes of the network coming back")
	}
	if keys := b.Keys(); len(keys) != 0 {
		t.Fatalf("the failed dump left objects: %v", keys)
	}
}

// freezeProxy forwards TCP connections to a target; frozen, it drops what either side sends
// and passes on no close, as a network that has lost the peer does. Thawed, it forwards again,
// and a side's close that came while frozen reaches the other side.
type freezeProxy struct {
	addr   *net.TCPAddr
	mu     sync.Mutex
	frozen bool
	thawed chan struct{}
	conns  []net.Conn
}

func newFreezeProxy(t *testing.T, target string) *freezeProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &freezeProxy{addr: l.Addr().(*net.TCPAddr), thawed: make(chan struct{})}
	var conns sync.WaitGroup
	t.Cleanup(func() {
		_ = l.Close()
		p.thaw()
		p.mu.Lock()
		for _, c := range p.conns {
			_ = c.Close()
		}
		p.mu.Unlock()
		conns.Wait()
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			conns.Add(2)
			go func() { defer conns.Done(); p.copy(u, c) }()
			go func() { defer conns.Done(); p.copy(c, u) }()
		}
	}()
	return p
}

func (p *freezeProxy) freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.frozen = true
}

func (p *freezeProxy) thaw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.frozen {
		p.frozen = false
		close(p.thawed)
	}
}

func (p *freezeProxy) isFrozen() (bool, <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.frozen, p.thawed
}

// copy forwards src to dst, dropping while frozen; at src's end it closes dst once thawed.
func (p *freezeProxy) copy(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if frozen, _ := p.isFrozen(); n > 0 && !frozen {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				err = werr
			}
		}
		if err != nil {
			if frozen, thawed := p.isFrozen(); frozen && !errors.Is(err, net.ErrClosed) {
				<-thawed
			}
			_ = dst.Close()
			_ = src.Close()
			return
		}
	}
}
