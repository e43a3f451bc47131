using Fusion.Core;
using Microsoft.FSharp.Core;

namespace Fusion.Distributed;

/// <summary>
/// What could not reach Redis, kept to be replayed when it is back: one merged <see cref="Pending{W}"/> per key
/// (the merge is the core's, <c>Recovery</c>), keys replayed in the order they first failed. Bounded by key
/// count and by bytes: when either bound is passed the oldest keys are dropped (and returned, for the log).
/// </summary>
internal sealed class RecoveryQueue(int capacity, long maxBytes)
{
    private readonly object _gate = new();
    private readonly Dictionary<string, LinkedListNode<Slot>> _byKey = new(StringComparer.Ordinal);
    private readonly LinkedList<Slot> _order = new();
    private readonly HashSet<string> _replaying = new(StringComparer.Ordinal);
    private long _bytes;

    private sealed class Slot(string key, Pending<L2Write> pending)
    {
        public readonly string Key = key;
        public Pending<L2Write> Pending = pending;
        public long Bytes = BytesOf(pending);
    }

    /// <summary>Keys with operations owed to Redis: queued, or taken out by a replay that is sending them.</summary>
    public int Count { get { lock (_gate) return _byKey.Count + _replaying.Count; } }

    /// <summary>Whether the key has operations owed to Redis (queued or being replayed). A new write of such a key
    /// must queue behind them, not go straight to Redis: else an Expire could reach L2 before the Set it expires,
    /// which the replay would then write fresh.</summary>
    public bool Owes(string key)
    {
        lock (_gate) return _byKey.ContainsKey(key) || _replaying.Contains(key);
    }

    /// <summary>Bytes held by the queued writes' arguments (values included).</summary>
    public long Bytes { get { lock (_gate) return _bytes; } }

    /// <summary>Queues an operation, merged into what the key already owes. Returns the keys dropped to stay in bounds.</summary>
    public List<string>? Enqueue(string key, L2Write? write, Remote? notice) =>
        Merge(key, Recovery.add(
            write is null ? FSharpValueOption<(L2Write, bool, long)>.ValueNone : FSharpValueOption<(L2Write, bool, long)>.NewValueSome((write, write.Replaces, write.Timestamp)),
            notice is null ? FSharpValueOption<Remote>.ValueNone : FSharpValueOption<Remote>.NewValueSome(notice),
            Recovery.empty<L2Write>()));

    /// <summary>Puts back what a replay did not send, merged with whatever the key got meanwhile.</summary>
    public List<string>? Merge(string key, Pending<L2Write> pending)
    {
        if (Recovery.isEmpty(pending)) return null;
        lock (_gate)
        {
            if (_byKey.TryGetValue(key, out var node))
            {
                _bytes -= node.Value.Bytes;
                node.Value.Pending = Recovery.merge(pending, node.Value.Pending);
                node.Value.Bytes = BytesOf(node.Value.Pending);
                _bytes += node.Value.Bytes;
            }
            else
            {
                var slot = new Slot(key, pending);
                _byKey.Add(key, _order.AddLast(slot));
                _bytes += slot.Bytes;
            }
            List<string>? dropped = null;
            while (_byKey.Count > 1 && (_byKey.Count > capacity || _bytes > maxBytes))
            {
                var oldest = _order.First!;
                Remove(oldest);
                (dropped ??= []).Add(oldest.Value.Key);
            }
            return dropped;
        }
    }

    /// <summary>Takes the key's operations out of the queue to replay them (put back what fails with <see cref="Merge"/>,
    /// then call <see cref="Replayed"/>): until then the key still <see cref="Owes"/>.</summary>
    public bool TryTake(string key, long now, out Pending<L2Write> pending)
    {
        lock (_gate)
        {
            if (!_byKey.TryGetValue(key, out var node) || !Recovery.isDue(now, node.Value.Pending)) { pending = null!; return false; }
            Remove(node);
            _replaying.Add(key);
            pending = node.Value.Pending;
            return true;
        }
    }

    /// <summary>The replay of a taken key is over (what it did not send was merged back first).</summary>
    public void Replayed(string key)
    {
        lock (_gate) _replaying.Remove(key);
    }

    /// <summary>The queued keys, oldest first.</summary>
    public string[] Keys()
    {
        lock (_gate)
        {
            var keys = new string[_order.Count];
            var i = 0;
            foreach (var slot in _order) keys[i++] = slot.Key;
            return keys;
        }
    }

    /// <summary>Empties the queue; returns the keys it held.</summary>
    public string[] Clear()
    {
        lock (_gate)
        {
            var keys = _byKey.Keys.ToArray();
            _byKey.Clear();
            _order.Clear();
            _bytes = 0;
            return keys;
        }
    }

    private void Remove(LinkedListNode<Slot> node)
    {
        _order.Remove(node);
        _byKey.Remove(node.Value.Key);
        _bytes -= node.Value.Bytes;
    }

    private static long BytesOf(Pending<L2Write> p) =>
        (p.Replace.IsSome ? p.Replace.Value.Length : 0) + (p.Expire.IsSome ? p.Expire.Value.Length : 0);
}
