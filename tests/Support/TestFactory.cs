using LanguageExt;

namespace Fusion.Tests.Support;

/// <summary>
/// A factory whose behaviour a test controls: it counts its calls, keeps each call's context, and either
/// answers at once (value, Left, throw, faulted task) or waits until the test completes the call.
/// </summary>
internal sealed class TestFactory<T>
{
    private readonly object _gate = new();
    private readonly List<Call> _calls = [];
    private Func<Call, Task<Either<Err, T>>> _behaviour;

    private TestFactory(Func<Call, Task<Either<Err, T>>> behaviour) => _behaviour = behaviour;

    /// <summary>One invocation: its context, and the result a waiting factory returns once the test sets it.</summary>
    public sealed class Call(int number, FactoryContext<T> context)
    {
        public int Number { get; } = number;
        public FactoryContext<T> Context { get; } = context;
        public TaskCompletionSource<Either<Err, T>> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Succeed(T value) => Result.SetResult(Either<Err, T>.Right(value));
        public void Fail(Err error) => Result.SetResult(Either<Err, T>.Left(error));
    }

    public static TestFactory<T> Returning(T value) => new(_ => Task.FromResult(Either<Err, T>.Right(value)));

    public static TestFactory<T> Failing(Err error) => new(_ => Task.FromResult(Either<Err, T>.Left(error)));

    /// <summary>Throws synchronously, before returning a task.</summary>
    public static TestFactory<T> Throwing(Exception error) => new(_ => throw error);

    /// <summary>Returns a task that is already faulted.</summary>
    public static TestFactory<T> Faulting(Exception error) => new(_ => Task.FromException<Either<Err, T>>(error));

    /// <summary>Each call waits until the test completes it.</summary>
    public static TestFactory<T> Waiting() => new(static call => call.Result.Task);

    /// <summary>Each call waits until the test completes it, or until its token is cancelled (then the task is cancelled).</summary>
    public static TestFactory<T> WaitingAndObservingCancellation() => new(static call =>
    {
        call.Context.CancellationToken.Register(static c => ((Call)c!).Result.TrySetCanceled(), call);
        return call.Result.Task;
    });

    public static TestFactory<T> From(Func<FactoryContext<T>, Task<Either<Err, T>>> behaviour) => new(call => behaviour(call.Context));

    /// <summary>The delegate to pass to <c>GetOrSet</c>.</summary>
    public Task<Either<Err, T>> Invoke(FactoryContext<T> context)
    {
        Call call;
        Func<Call, Task<Either<Err, T>>> behaviour;
        lock (_gate)
        {
            call = new Call(_calls.Count + 1, context);
            _calls.Add(call);
            behaviour = _behaviour;
        }
        return behaviour(call);
    }

    public int Calls { get { lock (_gate) return _calls.Count; } }

    /// <summary>The call numbered from 1.</summary>
    public Call this[int number] { get { lock (_gate) return _calls[number - 1]; } }

    public TestFactory<T> NowReturns(T value) => Become(_ => Task.FromResult(Either<Err, T>.Right(value)));

    public TestFactory<T> NowFails(Err error) => Become(_ => Task.FromResult(Either<Err, T>.Left(error)));

    public TestFactory<T> NowWaits() => Become(static call => call.Result.Task);

    private TestFactory<T> Become(Func<Call, Task<Either<Err, T>>> behaviour)
    {
        lock (_gate) _behaviour = behaviour;
        return this;
    }
}
