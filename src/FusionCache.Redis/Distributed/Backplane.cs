using Fusion.Core;
using Fusion.Runtime;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Fusion.Distributed;

/// <summary>
/// Notifications between nodes on one Redis pub/sub channel per cache name. Incoming messages are
/// applied to L1 through the core (<c>Lifecycle.applyRemote</c>, <c>Work.supersedes</c>): lazy invalidation, no L2 re-read.
/// </summary>
internal sealed class Backplane
{
    private const int None = 0, Subscribed = 1, Subscribing = 2, Stopped = 3;
    // A failed subscription is retried every this long until it is made (EnsureSubscribed).
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(500);
    private readonly RedisConnection _connection;
    private readonly RedisChannel _channel;
    private readonly Guid _instanceId;
    private readonly MemoryLevel _memory;
    private readonly Clock _clock;
    private readonly ILogger _logger;
    private readonly KeyValuePair<string, object?> _nameTag;
    // One handler instance, so that it can be removed alone: other caches may share the connection.
    private readonly Action<RedisChannel, RedisValue> _handler;
    private int _state;

    private readonly long _maxSkew;
    private readonly LogThrottle _malformedLog = new(TimeSpan.FromSeconds(10));
    private TaskCompletionSource? _probe;

    public Backplane(RedisConnection connection, string cacheName, Guid instanceId, MemoryLevel memory, Clock clock, TimeSpan maxSkew, CacheDiagnostics diagnostics)
    {
        _maxSkew = maxSkew.Ticks;
        _connection = connection;
        _channel = RedisChannel.Literal(cacheName + ":backplane:v" + NoticeCodec.Version);
        _instanceId = instanceId;
        _memory = memory;
        _clock = clock;
        _logger = diagnostics.Logger;
        _nameTag = diagnostics.NameTag;
        _handler = (_, message) => Receive(message);
    }

    /// <summary>Whether this node's handler is subscribed (it stays so across reconnects: the multiplexer
    /// re-subscribes by itself).</summary>
    public bool IsSubscribed => Volatile.Read(ref _state) == Subscribed;

    /// <summary>Messages received and applied, and messages ignored as malformed (debug counters).</summary>
    public long Applied, Malformed;

    /// <summary>Subscribes once; safe to call again (on every reconnect). A failed attempt is retried every
    /// <see cref="RetryDelay"/> by one retry loop, connected or not, until the subscription is made or stopped.</summary>
    /// <remarks>Not left to the next reconnect: one that arrives while the failing attempt is still in flight finds
    /// it "on its way" and returns, and there may be no later one, so the node would stay deaf to the other nodes.</remarks>
    public async Task EnsureSubscribed()
    {
        if (!await TrySubscribe(logFailure: true).ConfigureAwait(false)) StartRetrying();
    }

    /// <summary>One attempt; false when it failed (the state is back to None), true when subscribed or when another
    /// attempt or a stop has the subscription in hand.</summary>
    private async Task<bool> TrySubscribe(bool logFailure)
    {
        if (_connection.Multiplexer is null) return true; // subscribed once connected (the connection's setup calls again)
        if (Interlocked.CompareExchange(ref _state, Subscribing, None) != None) return true; // subscribed, or on its way
        try
        {
            await _connection.Required.GetSubscriber().SubscribeAsync(_channel, _handler).ConfigureAwait(false);
            if (Interlocked.CompareExchange(ref _state, Subscribed, Subscribing) != Subscribing) Unsubscribe(); // stopped meanwhile
            return true;
        }
        catch (Exception ex)
        {
            // Take the locally registered handler back, so that the retry adds it only once.
            try { _connection.Required.GetSubscriber().Unsubscribe(_channel, _handler, CommandFlags.FireAndForget); }
            catch (Exception unsubscribing) when (unsubscribing is RedisException or ObjectDisposedException) { } // closing or away: nothing registered to keep
            if (Interlocked.CompareExchange(ref _state, None, Subscribing) != Subscribing) return true; // stopped meanwhile
            if (logFailure) Log.SubscriptionFailed(_logger, DistributedLevel.Short(ex));
            return false;
        }
    }

    private int _retrying;

    /// <summary>Starts the retry loop unless it runs. The loop lowers its flag and then looks at the state once more,
    /// and a failed attempt sets the state before it calls here: a failure is never left without a retry.</summary>
    private void StartRetrying()
    {
        if (Interlocked.Exchange(ref _retrying, 1) == 0) _ = Retry();
    }

    private async Task Retry()
    {
        try
        {
            while (Volatile.Read(ref _state) == None)
            {
                await Task.Delay(RetryDelay).ConfigureAwait(false);
                // Away: no attempt (it would only fail), the next round looks again. Logged once, by the first failure.
                if (_connection.IsConnected) await TrySubscribe(logFailure: false).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            Log.SubscriptionFailed(_logger, DistributedLevel.Short(ex)); // not expected: TrySubscribe does not throw
        }
        finally
        {
            Volatile.Write(ref _retrying, 0);
        }
        if (Volatile.Read(ref _state) == None) StartRetrying();
    }

    /// <summary>Stops receiving (this node's handler only).</summary>
    public void Unsubscribe()
    {
        Volatile.Write(ref _state, Stopped); // no retry after this
        try { _connection.Multiplexer?.GetSubscriber().Unsubscribe(_channel, _handler, CommandFlags.FireAndForget); }
        catch (Exception ex) when (ex is RedisException or ObjectDisposedException) { } // closing anyway
    }

    public async Task Publish(string key, Remote notice)
    {
        await _connection.Required.GetSubscriber().PublishAsync(_channel, NoticeCodec.Encode(_instanceId, key, notice)).ConfigureAwait(false);
        Count(DistributedTelemetry.Sent, DistributedTelemetry.KindOf(notice));
    }

    /// <summary>Announces an invalidation (<c>RemoveByTag</c>; <c>Clear</c> when <paramref name="tag"/> is null).</summary>
    public async Task PublishMark(string? tag, Invalidation mark)
    {
        await _connection.Required.GetSubscriber().PublishAsync(_channel, NoticeCodec.EncodeMark(_instanceId, tag, mark)).ConfigureAwait(false);
        Count(DistributedTelemetry.Sent, "invalidate");
    }

    private void Count(System.Diagnostics.Metrics.Counter<long> counter, string kind)
    {
        if (counter.Enabled) counter.Add(1, _nameTag, new(DistributedTelemetry.MessageTag, kind));
    }

    /// <summary>Sends a probe to this node's own subscription and waits until it comes back: true once the
    /// subscription is live (from then on no notification is missed), false when it did not within the timeout.</summary>
    public async Task<bool> Probe(TimeSpan timeout, CancellationToken cancel)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var echo = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _probe, echo);
            try
            {
                await _connection.Required.GetSubscriber().PublishAsync(_channel, NoticeCodec.Probe(_instanceId)).ConfigureAwait(false);
                await echo.Task.WaitAsync(TimeSpan.FromMilliseconds(250), cancel).ConfigureAwait(false);
                return true;
            }
            catch (Exception ex) when (ex is TimeoutException or RedisException) { } // not back yet: again
        }
        return false;
    }

    /// <summary>Counts a malformed message; logs the first and then at most one each 10 s with the number skipped,
    /// so a flood of garbage on the channel cannot flood the log.</summary>
    private void Malformedly(string error)
    {
        Interlocked.Increment(ref Malformed);
        if (_malformedLog.ShouldLog(_clock.Now, out var skipped))
            Log.MalformedMessage(_logger, LogText.Of(error), skipped);
    }

    private void Receive(RedisValue message)
    {
        try
        {
            var bytes = (byte[])message!;
            if (NoticeCodec.IsProbe(bytes, out var prober))
            {
                if (prober == _instanceId) Volatile.Read(ref _probe)?.TrySetResult();
                return;
            }
            if (NoticeCodec.IsMark(bytes, Fusion.Core.Order.latestPlausible(_clock.Now, _maxSkew), out var marker, out var tag, out var mark, out var markError))
            {
                if (markError is not null) { Malformedly(markError); return; }
                if (marker == _instanceId) return; // our own: merged here already
                _clock.Observe(Math.Max(mark.RemovedAt, mark.StaledAt));
                _memory.Invalidations.Merge(tag, mark);
                Interlocked.Increment(ref Applied);
                Count(DistributedTelemetry.Received, "invalidate");
                return;
            }
            if (!NoticeCodec.TryDecode(bytes, out var sender, out var key, out var notice, out var error))
            {
                Malformedly(error!);
                return;
            }
            if (sender == _instanceId) return; // our own message: already applied here (invariant 9)
            var now = _clock.Now;
            var timestamp = Lifecycle.timestampOf(notice);
            // A stamp beyond the skew bound would pin the key and drag this node's clock along (SEMANTICS §4).
            if (!Fusion.Core.Order.plausible(now, _maxSkew, timestamp))
            {
                Malformedly($"stamped {timestamp} ticks, beyond the clock-skew bound of this node's clock ({now})");
                return;
            }
            _clock.Observe(timestamp); // our next write comes after the one we heard of
            // A newer write elsewhere also supersedes a flight of the key running here (Work.supersedes).
            _memory.Write(key, current => Lifecycle.applyRemote(now, current, notice), Write.NewRemote(timestamp, Lifecycle.originOf(notice)));
            Interlocked.Increment(ref Applied);
            Count(DistributedTelemetry.Received, DistributedTelemetry.KindOf(notice));
        }
        catch (Exception ex)
        {
            // A handler must never throw into the multiplexer's reader.
            Log.MessageNotApplied(_logger, ex);
        }
    }
}
