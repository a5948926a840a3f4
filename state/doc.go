// Package state is where fabplan keeps what outlives a run: the journal of every run (from which
// rollback, prune ownership and the history of secret-holding definitions are derived) and the
// estate locks that keep two runs off one estate.
//
// A Store is chosen once per command (Open): a local directory (the default, .fabplan), or a
// container prefix in Azure Blob Storage that every CI runner shares. Nothing else in fabplan reads
// or writes the state directly. A journal is append-only and each Append is durable in the store
// when it returns. Locks are held per estate key (plan, environment, target): a local lock dies with
// its process; a blob lock is a lease that the holder renews and that expires on its own when the
// holder is killed (LeaseDuration).
//
// The package imports nothing of fabplan: it stores bytes and holder records, and never interprets
// a journal.
package state
