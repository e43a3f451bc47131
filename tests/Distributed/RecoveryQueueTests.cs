using Fusion.Core;
using Fusion.Distributed;

namespace Fusion.Tests.Distributed;

/// <summary>The queue around the core's merge (<c>Recovery</c>): what the runtime hands it, and its bounds.</summary>
public sealed class RecoveryQueueTests
{
    private static L2Write Put(long at, int bytes = 10) => new(L2Write.Kind.Put, new byte[bytes], Ticks.Never, at);
    private static L2Write Expire(long at) => new(L2Write.Kind.Expire, new byte[24], Ticks.Never, at);

    private static Pending<L2Write> Take(RecoveryQueue queue, string key)
    {
        Assert.True(queue.TryTake(key, 0, out var pending));
        return pending;
    }

    [Fact]
    public void AFailedNotificationRetry_NeverReplacesTheQueuedWrite()
    {
        var queue = new RecoveryQueue(10, 1 << 20);
        var write = Put(100);
        queue.Enqueue("k", write, Remote.NewSet(100, 1));
        queue.Enqueue("k", null, Remote.NewSet(90, 1)); // an older write's notice, retried late

        var pending = Take(queue, "k");
        Assert.Same(write, pending.Replace.Value);
        Assert.Equal(100, Lifecycle.timestampOf(pending.ReplaceNotice.Value));
    }

    [Fact]
    public void AnOlderWriteQueuedLate_DoesNotReplaceANewerOne()
    {
        var queue = new RecoveryQueue(10, 1 << 20);
        var newer = Put(200);
        queue.Enqueue("k", newer, null);
        queue.Enqueue("k", Put(150), null); // two concurrent Sets, queued out of their order
        Assert.Same(newer, Take(queue, "k").Replace.Value);
    }

    [Fact]
    public void SetThenExpire_KeepsBoth()
    {
        var queue = new RecoveryQueue(10, 1 << 20);
        var set = Put(100);
        var expire = Expire(110);
        queue.Enqueue("k", set, null);
        queue.Enqueue("k", expire, null);
        var pending = Take(queue, "k");
        Assert.Same(set, pending.Replace.Value);
        Assert.Same(expire, pending.Expire.Value);
    }

    [Fact]
    public void TheByteBound_DropsTheOldestKeys()
    {
        var queue = new RecoveryQueue(100, 1_000);
        queue.Enqueue("a", Put(1, 600), null);
        var dropped = queue.Enqueue("b", Put(2, 600), null);
        Assert.Equal(["a"], dropped!);
        Assert.Equal(1, queue.Count);
        Assert.Equal(600, queue.Bytes);
    }

    [Fact]
    public void WhatAReplayPutsBack_MergesWithWhatArrivedMeanwhile()
    {
        var queue = new RecoveryQueue(10, 1 << 20);
        queue.Enqueue("k", Put(100), null);
        var taken = Take(queue, "k");
        var newer = Put(300);
        queue.Enqueue("k", newer, null); // arrived while the replay was sending
        queue.Merge("k", taken);        // the replay failed: back it goes
        Assert.Same(newer, Take(queue, "k").Replace.Value);
    }
}
