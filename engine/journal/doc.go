// Package journal is fabplan's durable transaction log: one append-only JSON-lines file per run
// under <state dir>/runs/<run-id>/journal.jsonl.
//
// A record is written and fsync'd before the call it describes (intent) and after it (done), so
// that a run that crashed between the two can still be rolled back: the intent carries an undo
// that is safe whether or not the call took effect. The journal never holds a secret value: the
// records hold ids, names and pre-images of definitions, never credentials.
//
// It never interprets an undo: the builtins register the operations and the engine runs them;
// the journal only stores, syncs, reads back and summarizes records.
package journal
