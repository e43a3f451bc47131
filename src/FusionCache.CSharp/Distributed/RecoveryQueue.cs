using Fusion.Core;

namespace Fusion.Distributed;

/// <summary>
/// What could not reach Redis, kept to be replayed when it is back: bounded, the last operation per key
/// wins, replayed in the order the operations were made. Replays cannot undo newer values because
/// every L2 change is timestamp-guarded in Redis.
/// </summary>
internal sealed class RecoveryQueue(int capacity)
{
    private readonly object _gate = new();
    private readonly Dictionary<string, Pending> _byKey = new(StringComparer.Ordinal);
    private long _order;

    /// <summary>An operation for one key: an L2 write, a notification, or both.</summary>
    public sealed record Pending(string Key, L2Write? Write, Remote? Notice, long Order);

    public int Count { get { lock (_gate) return _byKey.Count; } }

    /// <summary>Queues an operation, replacing the key's earlier one. When full, the oldest is dropped and returned.</summary>
    public Pending? Enqueue(string key, L2Write? write, Remote? notice)
    {
        lock (_gate)
        {
            _byKey[key] = new Pending(key, write, notice, ++_order);
            if (_byKey.Count <= capacity) return null;
            var oldest = _byKey.Values.MinBy(p => p.Order)!;
            _byKey.Remove(oldest.Key);
            return oldest;
        }
    }

    /// <summary>The queued operations, oldest first.</summary>
    public Pending[] Snapshot()
    {
        lock (_gate) return _byKey.Values.OrderBy(p => p.Order).ToArray();
    }

    /// <summary>Drops a replayed operation, unless a newer one for its key arrived meanwhile.</summary>
    public void Done(Pending pending)
    {
        lock (_gate)
        {
            if (_byKey.TryGetValue(pending.Key, out var current) && ReferenceEquals(current, pending)) _byKey.Remove(pending.Key);
        }
    }
}
