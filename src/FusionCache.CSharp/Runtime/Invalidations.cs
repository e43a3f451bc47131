using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Fusion.Core;
using Microsoft.FSharp.Core;

namespace Fusion.Runtime;

/// <summary>
/// The invalidations this node knows (SEMANTICS §4b): the cache-wide one (<c>Clear</c>) and one per tag
/// (<c>RemoveByTag</c>), each the core's <see cref="Invalidation"/> merged with every later one heard. Readers
/// apply them lazily (<c>Tagged.view</c>): nothing is scanned or deleted. Lock-free: a tag's marks are swapped
/// by one reference, merged by compare-and-swap.
/// </summary>
internal sealed class Invalidations
{
    private readonly ConcurrentDictionary<string, Invalidation> _byTag = new(StringComparer.Ordinal);
    private Invalidation _clear = InvalidationModule.none;
    private readonly FSharpFunc<string, Invalidation> _ofTag;

    public Invalidations() => _ofTag = FuncConvert.FromFunc<string, Invalidation>(OfTag);

    /// <summary>The cache-wide invalidation (<c>InvalidationModule.none</c> until a Clear).</summary>
    public Invalidation Clear => Volatile.Read(ref _clear);

    /// <summary>A tag's invalidation (<c>InvalidationModule.none</c> for a tag never invalidated).</summary>
    public Invalidation OfTag(string tag) => _byTag.TryGetValue(tag, out var inv) ? inv : InvalidationModule.none;

    /// <summary>Tags with an invalidation (tests, and what a reconnect re-reads).</summary>
    public int TagCount => _byTag.Count;

    private long _latest;

    /// <summary>The stamp of the latest invalidation made here or heard of (0: none): flights that began before it are
    /// not joined (<c>Work.mayJoinAfterInvalidation</c>).</summary>
    public long Latest => Volatile.Read(ref _latest);

    private void Saw(Invalidation inv) => AtomicMax.Raise(ref _latest, Math.Max(inv.RemovedAt, inv.StaledAt));

    /// <summary>Merges an invalidation of <paramref name="tag"/>, or of the whole cache when it is null.</summary>
    public void Merge(string? tag, Invalidation inv)
    {
        if (tag is null) MergeClear(inv);
        else MergeTag(tag, inv);
    }

    /// <summary>Merges an invalidation of the whole cache.</summary>
    public void MergeClear(Invalidation inv)
    {
        Saw(inv);
        while (true)
        {
            var current = Volatile.Read(ref _clear);
            var merged = InvalidationModule.merge(current, inv);
            if (ReferenceEquals(merged, current) || ReferenceEquals(Interlocked.CompareExchange(ref _clear, merged, current), current)) return;
        }
    }

    /// <summary>Merges an invalidation of one tag.</summary>
    public void MergeTag(string tag, Invalidation inv)
    {
        Saw(inv);
        _byTag.AddOrUpdate(tag, static (_, added) => added, static (_, current, added) => InvalidationModule.merge(current, added), inv);
    }

    // The longest lifetime (write to physical expiry) of a tagged entry stored here: a tag's marks older than it cover
    // nothing alive any more.
    private long _longestLifetime;

    /// <summary>A tagged entry was stored: marks are kept at least as long as it may live.</summary>
    public void Lived(Entry entry) => AtomicMax.Raise(ref _longestLifetime, InvalidationLife.lifetime(entry.Timestamp, entry.PhysicalExpiry));

    /// <summary>How many tags' marks are kept before a prune is worth its scan.</summary>
    public const int PruneAbove = 1024;

    /// <summary>Forgets the tags' marks that no entry alive can be covered by (<c>InvalidationLife.outlived</c>), once there
    /// are more than <see cref="PruneAbove"/>: marks do not grow with every tag ever invalidated.</summary>
    public void PruneIfLarge(long now)
    {
        if (_byTag.Count <= PruneAbove) return;
        var longest = Volatile.Read(ref _longestLifetime);
        foreach (var (tag, inv) in _byTag)
            if (InvalidationLife.outlived(now, longest, inv) && _byTag.TryRemove(new KeyValuePair<string, Invalidation>(tag, inv)))
                Forgotten?.Invoke(tag);
    }

    /// <summary>A tag's marks were forgotten here: whoever learned them from L2 must read them again next time (an entry of
    /// another node, longer-lived than any here, may still be covered in L2).</summary>
    public event Action<string>? Forgotten;

    /// <summary><paramref name="entry"/> as readers see it: itself (an untagged entry of a never-cleared cache costs one
    /// comparison), stale, or absent (false).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool View(ref Entry entry)
    {
        var clear = Volatile.Read(ref _clear);
        if (!Tagged.concerned(clear, entry)) return true;
        return ViewSlow(clear, ref entry);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool ViewSlow(Invalidation clear, ref Entry entry)
    {
        var seen = Tagged.view(clear, _ofTag, entry);
        if (seen.IsNone) return false;
        entry = seen.Value;
        return true;
    }

    /// <summary>As <see cref="View(ref Entry)"/>, on an optional entry.</summary>
    public FSharpValueOption<Entry> View(FSharpValueOption<Entry> entry)
    {
        if (entry.IsNone) return entry;
        var e = entry.Value;
        return View(ref e) ? (ReferenceEquals(e, entry.Value) ? entry : FSharpValueOption<Entry>.NewValueSome(e)) : FSharpValueOption<Entry>.ValueNone;
    }
}
