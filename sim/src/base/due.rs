//! A due-time index over the members of one device kind, so that a tick visits only the
//! devices whose work is due instead of every device of the kind.
//!
//! Members are numbered by rank, the order in which the kind's systems must visit them (for
//! a byte-identical event log, the order the kind's query used to iterate in). Each member
//! is in the index once, at its next due time; the tick that serves it takes it out and
//! puts it back at its new due time.
//!
//! The members are periodic (a PLC's scan cycle), so the index keeps one queue per period,
//! a *lane*. A member served at `now` comes back at about `now + period`, behind nearly
//! every other member of its lane but, with jitter, not behind all of them. Putting it back
//! is a walk back past the few members in the jitter's width; where those are many (10 to
//! 20 at 10,000 PLCs), the first walk too long starts an unsorted tail, and the members
//! put back after it are pushed onto the tail. The tail is sorted into the lane when the
//! members taken out reach its earliest, about once a period, in buckets by due time: a
//! pass and a comparison or two a member, where walking back past many and moving them cost
//! more (and a sort for sparse lanes costs more than their short walks). Taking the
//! earliest out is a step past the front, on memory read in order, where a binary heap
//! sifts through log n scattered entries twice per scan.

use crate::base::time::{SimDuration, SimTime};

/// Members of a kind by next due time, in one sorted queue per period.
#[derive(Debug, Default, Clone)]
pub struct DueIndex {
    /// Lanes in the order they were first used. Few (one per distinct period), so a linear
    /// search finds one.
    lanes: Vec<Lane>,
    /// The lane the last member went into: a plant's PLCs mostly share one scan period, so
    /// the next one nearly always goes there too.
    last_lane: usize,
}

/// The members of one period: a vector whose front part, `keys[head..sorted]`, is sorted
/// by `(due, rank)` and whose tail, `keys[sorted..]`, holds the members pushed since the
/// first walk too long after the last sort, in the order they came. The front is consumed
/// by moving `head` past it, and dropped once it is as long as what is left. Reading and
/// walking it are plain slice accesses, which a ring buffer's wrapped indices are not (they
/// were a third of a quiet scan tick's cost at a thousand PLCs).
#[derive(Debug, Clone)]
struct Lane {
    period: SimDuration,
    keys: Vec<(SimTime, u32)>,
    head: usize,
    sorted: usize,
    /// The earliest due time in the tail ([`SimTime::MAX`] when it is empty): the sorted
    /// part is the lane's order only before it.
    tail_min: SimTime,
    /// The sort's buffers, kept from one sort to the next (the lane's last vector among
    /// them).
    sorter: BucketSort,
}

impl Lane {
    /// The sorted part of the lane, earliest first: every member due before the tail's
    /// earliest is in it, in order (see [`Self::settle`]).
    fn ordered(&self) -> &[(SimTime, u32)] {
        &self.keys[self.head..self.sorted]
    }

    /// The lane's earliest due time, if any.
    fn first(&self) -> Option<SimTime> {
        let front = self.ordered().first().map_or(SimTime::MAX, |&(t, _)| t);
        Some(front.min(self.tail_min)).filter(|_| self.len() > 0)
    }

    /// Sorts the tail into the lane if any of it is due at or before `t`, so that
    /// [`Self::ordered`] holds every member due by `t`, in order.
    #[inline]
    fn settle(&mut self, t: SimTime) {
        if self.tail_min <= t {
            self.sort();
        }
    }

    /// Sorts the lane's members, consumed front dropped, into the spare vector, which
    /// becomes the lane. The part still sorted is short by now (members a jitter's width
    /// apart); the sort's cost is in the tail, a period's members in nearly the order they
    /// are due.
    #[inline(never)]
    fn sort(&mut self) {
        let mut sorted = std::mem::take(&mut self.sorter.spare);
        self.sorter.sort_into(&self.keys[self.head..], &mut sorted);
        self.sorter.spare = std::mem::replace(&mut self.keys, sorted);
        self.head = 0;
        self.sorted = self.keys.len();
        self.tail_min = SimTime::MAX;
    }

    fn len(&self) -> usize {
        self.keys.len() - self.head
    }

    fn drop_front(&mut self, k: usize) {
        self.head += k;
        debug_assert!(self.head <= self.sorted);
        if self.head == self.keys.len() {
            self.keys.clear();
            self.head = 0;
            self.sorted = 0;
        }
    }

    fn insert(&mut self, key: (SimTime, u32)) {
        if self.head > 0 && self.head * 2 >= self.keys.len() {
            self.keys.drain(..self.head);
            self.sorted -= self.head;
            self.head = 0;
        }
        // No tail yet: a member that belongs among the last few goes in its place, found
        // walking back, and the lane stays in order. Where scans are sparse (a thousand
        // PLCs: about two in a jitter's width) that is cheaper than the tail's sort; where
        // they are dense, the first walk too long starts the tail, until the next sort.
        const WALK: usize = 16;
        if self.sorted == self.keys.len() {
            let ordered = self.ordered();
            let n = ordered.len();
            if ordered.last().is_none_or(|&last| last < key) {
                self.keys.push(key);
                self.sorted += 1;
                return;
            }
            let lowest = n.saturating_sub(WALK);
            let mut at = n - 1;
            while at > lowest && ordered[at - 1] > key {
                at -= 1;
            }
            if at == 0 || ordered[at - 1] < key {
                self.keys.insert(self.head + at, key);
                self.sorted += 1;
                return;
            }
        }
        self.keys.push(key);
        self.tail_min = self.tail_min.min(key.0);
    }
}

/// A sort for keys spread about evenly over their span, as a lane's due times are: one
/// counting pass puts them in buckets of about two keys each by due time, and each bucket
/// is sorted on its own: about 70 instructions a key for a lane of 10,000 members, where the
/// library's comparison sort, comparing each key with log n others, took about 270
/// (callgrind, docs/src/performance.md).
#[derive(Debug, Clone, Default)]
struct BucketSort {
    spare: Vec<(SimTime, u32)>,
    starts: Vec<u32>,
}

impl BucketSort {
    /// Puts `keys` in `out`, sorted.
    fn sort_into(&mut self, keys: &[(SimTime, u32)], out: &mut Vec<(SimTime, u32)>) {
        const SMALL: usize = 32;
        out.clear();
        if keys.len() <= SMALL {
            out.extend_from_slice(keys);
            out.sort_unstable();
            return;
        }
        let (lo, hi) = keys
            .iter()
            .fold((u64::MAX, 0), |(lo, hi), &(t, _)| (lo.min(t.0), hi.max(t.0)));
        let buckets = (keys.len() / 2).next_power_of_two();
        let bits = buckets.trailing_zeros();
        let span_bits = u64::BITS - (hi - lo).leading_zeros();
        let shift = span_bits.saturating_sub(bits);
        let bucket = |t: SimTime| ((t.0 - lo) >> shift) as usize;
        // Where each bucket starts in the sorted order: counts, then their running sums.
        self.starts.clear();
        self.starts.resize(buckets + 1, 0);
        for &(t, _) in keys.iter() {
            self.starts[bucket(t) + 1] += 1;
        }
        for b in 0..buckets {
            self.starts[b + 1] += self.starts[b];
        }
        out.resize(keys.len(), (SimTime::MAX, u32::MAX)); // every place is written below
        // Each bucket's start moves on as its keys are placed, ending where the next starts.
        for &k in keys.iter() {
            let b = bucket(k.0);
            out[self.starts[b] as usize] = k;
            self.starts[b] += 1;
        }
        let mut from = 0;
        for &end in &self.starts[..buckets] {
            let to = end as usize;
            let bucket = &mut out[from..to];
            match bucket.len() {
                0 | 1 => {}
                2..=16 => insertion_sort(bucket),
                _ => bucket.sort_unstable(), // keys bunched up: not a lane's usual spread
            }
            from = to;
        }
    }
}

/// Sorts a few keys, each moved back past the larger ones before it: cheaper than a
/// library sort's call for the two or three keys a bucket usually holds.
fn insertion_sort(keys: &mut [(SimTime, u32)]) {
    for i in 1..keys.len() {
        let k = keys[i];
        let mut j = i;
        while j > 0 && keys[j - 1] > k {
            keys[j] = keys[j - 1];
            j -= 1;
        }
        keys[j] = k;
    }
}

impl DueIndex {
    /// Puts member `rank`, whose work recurs every `period`, in at `due`. Any period is
    /// correct; members of one period share a lane, where putting one back is cheap.
    pub fn insert(&mut self, due: SimTime, rank: u32, period: SimDuration) {
        if self.lanes.get(self.last_lane).is_none_or(|l| l.period != period) {
            self.last_lane = match self.lanes.iter().position(|l| l.period == period) {
                Some(i) => i,
                None => {
                    self.lanes.push(Lane {
                        period,
                        keys: Vec::new(),
                        head: 0,
                        sorted: 0,
                        tail_min: SimTime::MAX,
                        sorter: BucketSort::default(),
                    });
                    self.lanes.len() - 1
                }
            };
        }
        self.lanes[self.last_lane].insert((due, rank));
    }

    /// Takes out every member due at or before `now`, in rank order (not due-time order:
    /// the members due by one tick are served as one batch, in the kind's order).
    pub fn take_due(&mut self, now: SimTime, out: &mut Vec<u32>) {
        let taken = self.take_due_if(now, |_| true, out);
        debug_assert!(taken, "a test that passes everyone takes everyone");
    }

    /// Takes out every member due at or before `now`, in rank order, if every one passes
    /// `test` (by rank); otherwise takes none out, leaves `out` empty and returns false.
    /// The quiet scan tick's check and take in one call: it looks at each lane's front
    /// once to test and once to count what it drops, both on the same few entries.
    pub fn take_due_if(
        &mut self,
        now: SimTime,
        mut test: impl FnMut(u32) -> bool,
        out: &mut Vec<u32>,
    ) -> bool {
        out.clear();
        for lane in &mut self.lanes {
            lane.settle(now);
            for &(due, rank) in lane.ordered() {
                if due > now {
                    break;
                }
                if !test(rank) {
                    out.clear();
                    return false;
                }
                out.push(rank);
            }
        }
        let mut taken = 0;
        for lane in &mut self.lanes {
            let k = lane.ordered().iter().take_while(|&&(due, _)| due <= now).count();
            lane.drop_front(k);
            taken += k;
        }
        debug_assert_eq!(taken, out.len());
        if out.len() > 1 {
            out.sort_unstable();
        }
        true
    }

    /// Takes out the members due at the earliest instant, in rank order, and returns that
    /// instant, if it is before `before`, every one of them passes `test` (by rank), and all
    /// members share one period. Otherwise takes none out, leaves `out` empty and returns
    /// `None`. The quiet scan ticks' loop, instant after instant: one lane's front is sorted
    /// by `(due, rank)`, so the members of one instant are its first few entries, in rank
    /// order already, read once (where [`Self::take_due_if`] reads them twice and sorts).
    /// With several lanes the instant's members would have to be merged: the caller falls
    /// back to [`Self::next_due`] and [`Self::take_due_if`].
    pub fn take_instant_if(
        &mut self,
        before: SimTime,
        mut test: impl FnMut(u32) -> bool,
        out: &mut Vec<u32>,
    ) -> Option<SimTime> {
        out.clear();
        let [lane] = &mut self.lanes[..] else {
            return None;
        };
        let t = lane.first().filter(|&t| t < before)?;
        lane.settle(t);
        for &(due, rank) in lane.ordered() {
            if due != t {
                break;
            }
            if !test(rank) {
                out.clear();
                return None;
            }
            out.push(rank);
        }
        lane.drop_front(out.len());
        Some(t)
    }

    /// Every member due before `until`, as `(due, rank)` in no particular order, left in
    /// the index.
    pub fn due_before(&self, until: SimTime, out: &mut Vec<(SimTime, u32)>) {
        out.clear();
        for lane in &self.lanes {
            // In no particular order: the tail need not be sorted for this.
            out.extend(lane.ordered().iter().take_while(|&&(due, _)| due < until));
            if lane.tail_min < until {
                out.extend(lane.keys[lane.sorted..].iter().filter(|&&(due, _)| due < until));
            }
        }
    }

    /// The earliest due time of any member.
    pub fn next_due(&self) -> Option<SimTime> {
        self.lanes.iter().filter_map(Lane::first).min()
    }

    /// Members in the index.
    pub fn len(&self) -> usize {
        self.lanes.iter().map(Lane::len).sum()
    }

    /// Whether no member is in the index.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: SimDuration = SimDuration(100);

    #[test]
    fn takes_what_is_due_in_rank_order_and_leaves_the_rest() {
        let mut d = DueIndex::default();
        d.insert(SimTime(30), 0, P);
        d.insert(SimTime(10), 2, P);
        d.insert(SimTime(10), 1, SimDuration(7));
        d.insert(SimTime(5), 3, P);
        let mut out = Vec::new();
        d.take_due(SimTime(10), &mut out);
        assert_eq!(out, vec![1, 2, 3]);
        assert_eq!(d.len(), 1);
        assert_eq!(d.next_due(), Some(SimTime(30)));
        assert!(d.take_due_if(SimTime(29), |_| false, &mut out));
        assert!(out.is_empty());
        assert!(!d.take_due_if(SimTime(30), |r| r != 0, &mut out));
        assert!(out.is_empty());
        assert_eq!(d.len(), 1, "a failed test takes nothing out");
        d.take_due(SimTime(29), &mut out);
        assert!(out.is_empty());
        d.take_due(SimTime(30), &mut out);
        assert_eq!(out, vec![0]);
        assert!(d.is_empty());
        assert_eq!(d.next_due(), None);
    }

    #[test]
    fn takes_one_instant_at_a_time_only_when_everyone_due_passes() {
        let mut d = DueIndex::default();
        for (t, rank) in [(20, 4), (10, 3), (10, 1), (30, 2)] {
            d.insert(SimTime(t), rank, P);
        }
        let mut out = Vec::new();
        assert_eq!(
            d.take_instant_if(SimTime(10), |_| true, &mut out),
            None,
            "before is exclusive"
        );
        assert_eq!(d.take_instant_if(SimTime(11), |r| r != 3, &mut out), None);
        assert!(out.is_empty());
        assert_eq!(d.len(), 4, "a failed test takes nothing out");
        assert_eq!(
            d.take_instant_if(SimTime(99), |_| true, &mut out),
            Some(SimTime(10))
        );
        assert_eq!(
            out,
            vec![1, 3],
            "the instant's members in rank order, nobody later"
        );
        assert_eq!(
            d.take_instant_if(SimTime(99), |_| true, &mut out),
            Some(SimTime(20))
        );
        assert_eq!(out, vec![4]);
        // A second period makes a second lane: the caller goes the general way.
        d.insert(SimTime(25), 5, SimDuration(7));
        assert_eq!(d.take_instant_if(SimTime(99), |_| true, &mut out), None);
        assert_eq!(d.next_due(), Some(SimTime(25)));
    }

    #[test]
    fn members_come_out_in_due_order_whatever_order_they_went_in() {
        // Put back early, late and in between (a late start, jitter): the lane stays sorted.
        let mut d = DueIndex::default();
        let dues = [50u64, 10, 40, 40, 5, 70, 20, 60, 45, 15];
        for (rank, &t) in dues.iter().enumerate() {
            d.insert(
                SimTime(t),
                rank as u32,
                if rank % 3 == 0 { SimDuration(9) } else { P },
            );
        }
        let mut seen = Vec::new();
        let mut out = Vec::new();
        while let Some(t) = d.next_due() {
            d.take_due(t, &mut out);
            seen.extend(out.iter().map(|&r| (dues[r as usize], r)));
        }
        let mut want: Vec<(u64, u32)> = dues.iter().enumerate().map(|(r, &t)| (t, r as u32)).collect();
        want.sort();
        assert_eq!(seen, want);
    }

    #[test]
    fn a_member_put_back_far_before_the_back_goes_in_its_place() {
        // Far before the back, even before members not yet taken out: in its place all the same.
        let mut d = DueIndex::default();
        for rank in 0..100u32 {
            d.insert(SimTime(u64::from(rank) * 10), rank, P);
        }
        let mut out = Vec::new();
        d.take_due(SimTime(40), &mut out); // a consumed front the search must not enter
        let late = [
            (55, 100),
            (5, 101),
            (995, 102),
            (501, 103),
            (501, 104),
            (990, 105),
        ];
        for (t, rank) in late {
            d.insert(SimTime(t), rank, P);
        }
        let mut seen = Vec::new();
        while let Some(t) = d.next_due() {
            d.take_due(t, &mut out);
            seen.extend(out.iter().map(|&r| (t.0, r)));
        }
        let mut want: Vec<(u64, u32)> = (5..100u32).map(|r| (u64::from(r) * 10, r)).collect();
        want.extend(late);
        want.sort();
        assert_eq!(seen, want);
    }

    #[test]
    fn the_bucket_sort_agrees_with_a_library_sort_whatever_the_spread() {
        let mut x: u64 = 11;
        let mut next = move || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            x >> 33
        };
        let spreads: [&dyn Fn(u64, u32) -> u64; 4] = [
            // A period's scans with jitter, as a lane holds them.
            &|r, i| 1_000_000 + u64::from(i) * 10_000 + r % 200,
            // Bunched up at one instant but for one far in the future: one full bucket.
            &|_, i| if i == 7 { u64::MAX - 1 } else { 5 },
            // Ties broken by rank, and the whole range of due times.
            &|r, _| (r % 4) * (u64::MAX / 4),
            // Scattered at random.
            &|r, _| r,
        ];
        let mut sorter = BucketSort::default();
        let mut out = Vec::new();
        for spread in spreads {
            for n in [0u32, 1, 31, 33, 100, 1_000] {
                let mut keys: Vec<(SimTime, u32)> = (0..n).map(|i| (SimTime(spread(next(), i)), i)).collect();
                // In the order a lane's tail gets them: nearly, not quite, in order.
                for i in (1..keys.len()).step_by(3) {
                    keys.swap(i - 1, i);
                }
                sorter.sort_into(&keys, &mut out);
                keys.sort_unstable();
                assert_eq!(out, keys, "{n} keys");
            }
        }
    }

    #[test]
    fn agrees_with_an_ordered_set_over_many_scans_put_back_with_jitter() {
        // Long enough for every lane's consumed front to be dropped many times over.
        use std::collections::BTreeSet;
        let mut d = DueIndex::default();
        let mut oracle = BTreeSet::new();
        let mut x: u64 = 7;
        let mut next = || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            x >> 33
        };
        for rank in 0..50u32 {
            let period = if rank % 5 == 0 { SimDuration(70) } else { P };
            let due = SimTime(next() % 100);
            d.insert(due, rank, period);
            oracle.insert((due, rank));
        }
        let mut now = SimTime(0);
        let mut out = Vec::new();
        for _ in 0..2_000 {
            let t = d.next_due().expect("members never leave");
            assert!(t >= now);
            now = t;
            d.take_due(now, &mut out);
            assert_eq!(out, oracle_take(&mut oracle, now));
            for &rank in &out {
                let period = if rank % 5 == 0 { 70 } else { 100 };
                let due = SimTime(now.0 + period + next() % 30);
                d.insert(due, rank, SimDuration(period));
                oracle.insert((due, rank));
            }
            assert_eq!(d.len(), 50);
        }

        fn oracle_take(o: &mut BTreeSet<(SimTime, u32)>, now: SimTime) -> Vec<u32> {
            let mut due: Vec<u32> = o.iter().take_while(|(t, _)| *t <= now).map(|&(_, r)| r).collect();
            o.retain(|(t, _)| *t > now);
            due.sort_unstable();
            due
        }
    }
}
