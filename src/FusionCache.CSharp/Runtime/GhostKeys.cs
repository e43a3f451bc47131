namespace Fusion.Runtime;

/// <summary>
/// The last N keys evicted from S3-FIFO's small queue, as hash codes (a false positive only sends a
/// new key to the main queue). A ring of hashes plus a count per hash; not thread-safe (the store's
/// policy lock guards it).
/// </summary>
internal sealed class GhostKeys(int capacity)
{
    private readonly int[] _ring = new int[capacity];
    private readonly Dictionary<int, int> _counts = new(capacity);
    private int _next;
    private int _size;

    // Until the first eviction there is nothing to find: skip hashing the key.
    public bool Contains(string key) => _size > 0 && _counts.ContainsKey(key.GetHashCode());

    public void Add(string key)
    {
        if (_size == _ring.Length) Decrement(_ring[_next]);
        else _size++;
        var hash = key.GetHashCode();
        _ring[_next] = hash;
        _counts[hash] = _counts.GetValueOrDefault(hash) + 1;
        _next = (_next + 1) % _ring.Length;
    }

    private void Decrement(int hash)
    {
        var count = _counts[hash];
        if (count == 1) _counts.Remove(hash);
        else _counts[hash] = count - 1;
    }
}
