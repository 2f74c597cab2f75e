package journey

import "sync"

// maxWorkers bounds the goroutines running journeys' active steps (login,
// the upgrade) begun by [Start]: a burst of thousands of users queues
// here, a few bytes each, instead of holding thousands of goroutines and
// HTTP connections at once.
const maxWorkers = 512

// taskQueue runs tasks on at most max goroutines, started as tasks come
// and gone when none waits: an idle engine holds no worker.
type taskQueue struct {
	mu      sync.Mutex
	tasks   []func()
	head    int
	running int
	max     int
}

// work is the package's queue for the first steps of Start's journeys.
var work = taskQueue{max: maxWorkers}

// push queues f; it never blocks.
func (q *taskQueue) push(f func()) {
	q.mu.Lock()
	q.tasks = append(q.tasks, f)
	spawn := q.running < q.max
	if spawn {
		q.running++
	}
	q.mu.Unlock()
	if spawn {
		go q.work()
	}
}

// work runs queued tasks until none is left.
func (q *taskQueue) work() {
	for {
		q.mu.Lock()
		if q.head == len(q.tasks) {
			q.tasks, q.head = q.tasks[:0], 0
			q.running--
			q.mu.Unlock()
			return
		}
		f := q.tasks[q.head]
		q.tasks[q.head] = nil
		q.head++
		if q.head > 1024 && q.head*2 > len(q.tasks) { // compact: the queue does not grow without bound
			n := copy(q.tasks, q.tasks[q.head:])
			clear(q.tasks[n:])
			q.tasks, q.head = q.tasks[:n], 0
		}
		q.mu.Unlock()
		f()
	}
}
