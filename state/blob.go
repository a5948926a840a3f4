package state

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/appendblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"
	"github.com/google/uuid"
)

// LeaseDuration is how long a blob lock outlives its last renewal: the holder renews it every
// RenewEvery, so a killed holder's lock expires at most this long after the kill. It is the
// shortest lease Azure Storage grants.
const LeaseDuration = 15 * time.Second

// RenewEvery is how often a blob lock's lease is renewed, each attempt bounded by renewTimeout:
// three attempts in a row can fail before the holder gives the lock up.
const (
	RenewEvery   = 3 * time.Second
	renewTimeout = 2 * time.Second
)

// MaxRecord is the largest single Append a blob journal takes: one append block, so that a record
// is in the journal whole or not at all.
const MaxRecord = 4 << 20

// Blob is a prefix of an Azure Blob Storage container:
//
//	PREFIX/runs/RUN/journal.jsonl   an append blob per run
//	PREFIX/locks/HASH.json          a block blob per estate key; its lease is the lock, its body the holder
type Blob struct {
	loc    string // azblob://ACCOUNT/CONTAINER/PREFIX
	prefix string // "" or "PREFIX/"
	c      *container.Client

	mu      sync.Mutex
	created bool // the container is known to exist
}

func (b *Blob) name(parts ...string) string { return b.prefix + strings.Join(parts, "/") }

// Location is azblob://ACCOUNT/CONTAINER/PREFIX.
func (b *Blob) Location() string { return b.loc }

func (b *Blob) url(name string) string {
	return strings.TrimSuffix(b.loc, "/"+strings.TrimSuffix(b.prefix, "/")) + "/" + name
}

// storageError says which call on which blob failed, in one line: the SDK's own message spans a
// dozen lines of headers.
func (b *Blob) storageError(op, name string, err error) error {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return &StorageError{Op: op, Blob: b.url(name), Status: re.StatusCode, Code: re.ErrorCode}
	}
	return &StorageError{Op: op, Blob: b.url(name), Err: err}
}

// StorageError is a failed call to Azure Blob Storage.
type StorageError struct {
	Op     string
	Blob   string
	Status int    // 0 when no answer came
	Code   string // the storage error code
	Err    error  // the transport error, when no answer came
}

func (e *StorageError) Error() string {
	if e.Status != 0 {
		hint := ""
		switch e.Status {
		case http.StatusForbidden, http.StatusUnauthorized:
			hint = " (the identity needs the role Storage Blob Data Contributor on the storage account or container)"
		}
		return fmt.Sprintf("state: %s %s: %d %s%s", e.Op, e.Blob, e.Status, e.Code, hint)
	}
	return fmt.Sprintf("state: %s %s: %v", e.Op, e.Blob, e.Err)
}

func (e *StorageError) Unwrap() error { return e.Err }

// ensureContainer creates the container the first time something is written, as Terraform users
// would otherwise have to; an existing one is left as it is.
func (b *Blob) ensureContainer(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.created {
		return nil
	}
	if _, err := b.c.Create(ctx, nil); err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		// An identity allowed to write blobs but not to create containers gets 403 here: the
		// container may still exist, and the write that follows says what really fails.
		if !bloberror.HasCode(err, bloberror.AuthorizationPermissionMismatch, bloberror.AuthorizationFailure) {
			return b.storageError("create container", "", err)
		}
	}
	b.created = true
	return nil
}

func (b *Blob) journalName(run string) string { return b.name("runs", run, JournalFile) }

// CreateJournal creates the run's append blob, refusing one that exists.
func (b *Blob) CreateJournal(ctx context.Context, run string) (Journal, error) {
	if err := checkRunID(run); err != nil {
		return nil, err
	}
	if err := b.ensureContainer(ctx); err != nil {
		return nil, err
	}
	name := b.journalName(run)
	ab := b.c.NewAppendBlobClient(name)
	_, err := ab.Create(ctx, &appendblob.CreateOptions{AccessConditions: &blob.AccessConditions{
		ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}}})
	if bloberror.HasCode(err, bloberror.BlobAlreadyExists) {
		return nil, fmt.Errorf("state: run %s already has a journal at %s: %w", run, b.url(name), errExist)
	}
	if err != nil {
		return nil, b.storageError("create", name, err)
	}
	return &blobJournal{b: b, name: name, ab: ab}, nil
}

// OpenJournal appends to an existing journal, from its current end.
func (b *Blob) OpenJournal(ctx context.Context, run string) (Journal, error) {
	if err := checkRunID(run); err != nil {
		return nil, err
	}
	name := b.journalName(run)
	ab := b.c.NewAppendBlobClient(name)
	props, err := ab.GetProperties(ctx, nil)
	if bloberror.HasCode(err, bloberror.BlobNotFound, bloberror.ContainerNotFound) ||
		isStatus(err, http.StatusNotFound) {
		return nil, notExist("state: " + b.url(name))
	}
	if err != nil {
		return nil, b.storageError("open", name, err)
	}
	return &blobJournal{b: b, name: name, ab: ab, size: *props.ContentLength}, nil
}

// ReadJournal downloads a journal.
func (b *Blob) ReadJournal(ctx context.Context, run string) ([]byte, error) {
	if err := checkRunID(run); err != nil {
		return nil, err
	}
	name := b.journalName(run)
	data, err := b.download(ctx, name, blob.HTTPRange{})
	if err != nil {
		return nil, err
	}
	return data, nil
}

func isStatus(err error, status int) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.StatusCode == status
}

func (b *Blob) download(ctx context.Context, name string, r blob.HTTPRange) ([]byte, error) {
	resp, err := b.c.NewBlobClient(name).DownloadStream(ctx, &blob.DownloadStreamOptions{Range: r})
	if bloberror.HasCode(err, bloberror.BlobNotFound, bloberror.ContainerNotFound) || isStatus(err, http.StatusNotFound) {
		return nil, notExist("state: " + b.url(name))
	}
	if err != nil {
		return nil, b.storageError("read", name, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, b.storageError("read", name, err)
	}
	return data, nil
}

// ReadMeta downloads meta/NAME.
func (b *Blob) ReadMeta(ctx context.Context, name string) ([]byte, error) {
	if err := checkMetaName(name); err != nil {
		return nil, err
	}
	return b.download(ctx, b.name("meta", name), blob.HTTPRange{})
}

// WriteMeta uploads meta/NAME as a block blob: one Put Blob replaces it whole.
func (b *Blob) WriteMeta(ctx context.Context, name string, data []byte) error {
	if err := checkMetaName(name); err != nil {
		return err
	}
	if err := b.ensureContainer(ctx); err != nil {
		return err
	}
	blobName := b.name("meta", name)
	if _, err := b.c.NewBlockBlobClient(blobName).Upload(ctx, streaming.NopCloser(bytes.NewReader(data)), nil); err != nil {
		return b.storageError("write", blobName, err)
	}
	return nil
}

// Runs lists runs/*/journal.jsonl.
func (b *Blob) Runs(ctx context.Context) ([]string, error) {
	var runs []string
	err := b.list(ctx, b.name("runs")+"/", func(item *container.BlobItem) {
		rest := strings.TrimPrefix(*item.Name, b.name("runs")+"/")
		if run, file, ok := strings.Cut(rest, "/"); ok && file == JournalFile {
			runs = append(runs, run)
		}
	})
	return runs, err
}

func (b *Blob) list(ctx context.Context, prefix string, each func(*container.BlobItem)) error {
	pager := b.c.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: &prefix})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if bloberror.HasCode(err, bloberror.ContainerNotFound) {
			return nil
		}
		if err != nil {
			return b.storageError("list", prefix, err)
		}
		for _, item := range page.Segment.BlobItems {
			each(item)
		}
	}
	return nil
}

type blobJournal struct {
	b    *Blob
	name string
	ab   *appendblob.Client
	size int64 // where the next append must land
}

func (j *blobJournal) Name() string { return j.b.url(j.name) }

// Append adds p as one append block at the position the journal last ended. The condition keeps
// order and makes the SDK's retries safe: if an attempt that timed out had in fact landed, the
// retry is refused (AppendPositionConditionNotMet), and the journal's tail is checked to be p.
func (j *blobJournal) Append(ctx context.Context, p []byte) error {
	if len(p) > MaxRecord {
		return fmt.Errorf("state: a journal record of %d bytes is more than a blob journal takes (%d)",
			len(p), MaxRecord)
	}
	_, err := j.ab.AppendBlock(ctx, streaming.NopCloser(bytes.NewReader(p)), &appendblob.AppendBlockOptions{
		AppendPositionAccessConditions: &appendblob.AppendPositionAccessConditions{AppendPosition: to.Ptr(j.size)},
	})
	if bloberror.HasCode(err, bloberror.AppendPositionConditionNotMet) {
		tail, rerr := j.b.download(ctx, j.name, blob.HTTPRange{Offset: j.size, Count: int64(len(p)) + 1})
		if rerr != nil {
			return rerr
		}
		if !bytes.Equal(tail, p) {
			return fmt.Errorf("state: %s was written by someone else since this run last appended to it",
				j.Name())
		}
		err = nil
	}
	if err != nil {
		return j.b.storageError("append to", j.name, err)
	}
	j.size += int64(len(p))
	return nil
}

// Truncate only accepts the journal's current size: a blob journal never holds a torn record,
// since each record is one append block.
func (j *blobJournal) Truncate(_ context.Context, size int64) error {
	if size == j.size {
		return nil
	}
	return fmt.Errorf("state: %s cannot be cut to %d bytes: append blobs only grow", j.Name(), size)
}

func (j *blobJournal) Close() error { return nil }

func (b *Blob) lockName(key string) string { return b.name("locks", lockName(key)+".json") }

// TryLock takes a lease on the key's lock blob and writes the holder into it. The lease is renewed
// every RenewEvery until Unlock, and lapses LeaseDuration after the holder dies.
func (b *Blob) TryLock(ctx context.Context, key string, h Holder) (Lock, error) {
	if err := b.ensureContainer(ctx); err != nil {
		return nil, err
	}
	name := b.lockName(key)
	bb := b.c.NewBlockBlobClient(name)
	// The blob must exist to be leased; one that exists (leased or not) is left alone.
	_, err := bb.Upload(ctx, streaming.NopCloser(bytes.NewReader(nil)), &blockblob.UploadOptions{
		AccessConditions: &blob.AccessConditions{
			ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}}})
	if err != nil && !bloberror.HasCode(err, bloberror.BlobAlreadyExists, bloberror.LeaseIDMissing,
		bloberror.ConditionNotMet) && !isStatus(err, http.StatusConflict) && !isStatus(err, http.StatusPreconditionFailed) {
		return nil, b.storageError("create lock", name, err)
	}
	lc, err := lease.NewBlobClient(bb, &lease.BlobClientOptions{LeaseID: to.Ptr(uuid.NewString())})
	if err != nil {
		return nil, err
	}
	if _, err := lc.AcquireLease(ctx, int32(LeaseDuration/time.Second), nil); err != nil {
		if bloberror.HasCode(err, bloberror.LeaseAlreadyPresent, bloberror.LeaseIsBreakingAndCannotBeAcquired) {
			held, _ := b.holder(ctx, name)
			held.Key = key
			return nil, &LockedError{Key: key, Holder: held}
		}
		return nil, b.storageError("lease", name, err)
	}
	acquired := time.Now()
	h.Key = key
	body, _ := json.Marshal(h)
	if _, err := bb.Upload(ctx, streaming.NopCloser(bytes.NewReader(body)), &blockblob.UploadOptions{
		AccessConditions: &blob.AccessConditions{LeaseAccessConditions: &blob.LeaseAccessConditions{LeaseID: lc.LeaseID()}},
	}); err != nil {
		lc.ReleaseLease(context.WithoutCancel(ctx), nil)
		return nil, b.storageError("write lock", name, err)
	}
	l := &blobLock{lc: lc, lost: make(chan struct{}), stop: make(chan struct{}), stopped: make(chan struct{})}
	go l.renew(acquired)
	return l, nil
}

func (b *Blob) holder(ctx context.Context, name string) (Holder, error) {
	var h Holder
	data, err := b.download(ctx, name, blob.HTTPRange{})
	if err != nil {
		return h, err
	}
	return h, json.Unmarshal(data, &h)
}

type blobLock struct {
	lc      *lease.BlobClient
	lost    chan struct{}
	stop    chan struct{}
	stopped chan struct{}
	once    sync.Once
}

func (l *blobLock) Lost() <-chan struct{} { return l.lost }

// renew keeps the lease until stop. A lease that was broken or taken is lost at once; one that
// cannot be renewed (storage unreachable) is given up a little before it would expire, since
// another run may take it from then on.
func (l *blobLock) renew(acquired time.Time) {
	defer close(l.stopped)
	expires := acquired.Add(LeaseDuration)
	t := time.NewTicker(RenewEvery)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), renewTimeout)
		sent := time.Now()
		_, err := l.lc.RenewLease(ctx, nil)
		cancel()
		switch {
		case err == nil:
			expires = sent.Add(LeaseDuration)
			continue
		case bloberror.HasCode(err, bloberror.LeaseIDMismatchWithLeaseOperation, bloberror.LeaseLost,
			bloberror.LeaseIsBrokenAndCannotBeRenewed, bloberror.LeaseNotPresentWithLeaseOperation),
			time.Now().Add(RenewEvery + renewTimeout).After(expires):
			close(l.lost)
			return
		}
	}
}

func (l *blobLock) Unlock(ctx context.Context) error {
	var err error
	l.once.Do(func() {
		close(l.stop)
		<-l.stopped
		select {
		case <-l.lost:
			return // nothing left to release
		default:
		}
		_, err = l.lc.ReleaseLease(ctx, nil)
	})
	return err
}

// Locks lists the lock blobs under lease.
func (b *Blob) Locks(ctx context.Context) ([]Holder, error) {
	var names []string
	err := b.list(ctx, b.name("locks")+"/", func(item *container.BlobItem) {
		if p := item.Properties; p != nil && p.LeaseState != nil && *p.LeaseState == lease.StateTypeLeased {
			names = append(names, *item.Name)
		}
	})
	if err != nil {
		return nil, err
	}
	var out []Holder
	for _, name := range names {
		h, err := b.holder(ctx, name)
		if err != nil {
			continue // released between the listing and now
		}
		out = append(out, h)
	}
	return out, nil
}

// Break breaks the key's lease at once; the holder finds out at its next renewal.
func (b *Blob) Break(ctx context.Context, key string) (Holder, error) {
	name := b.lockName(key)
	h, _ := b.holder(ctx, name)
	lc, err := lease.NewBlobClient(b.c.NewBlockBlobClient(name), nil)
	if err != nil {
		return h, err
	}
	_, err = lc.BreakLease(ctx, &lease.BlobBreakOptions{BreakPeriod: to.Ptr(int32(0))})
	if bloberror.HasCode(err, bloberror.LeaseNotPresentWithLeaseOperation, bloberror.BlobNotFound,
		bloberror.ContainerNotFound) {
		return h, notExist("no run holds the lock of estate " + key)
	}
	if err != nil {
		return h, b.storageError("break lease of", name, err)
	}
	return h, nil
}
