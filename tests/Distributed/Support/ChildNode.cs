using System.Collections.Concurrent;
using System.Diagnostics;

namespace Fusion.Tests.Distributed.Support;

/// <summary>
/// A Fusion node in another OS process: tests/NodeProcess, started with <c>dotnet Fusion.NodeProcess.dll</c> from the
/// tests' output folder and driven one command per line over stdin/stdout. Every wait is bounded; disposing kills it.
/// </summary>
internal sealed class ChildNode : IAsyncDisposable
{
    /// <summary>How long the child may take to start (a cold .NET start) or to answer one command.</summary>
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    private readonly Process process;
    private readonly ConcurrentQueue<string> errors = new();

    private ChildNode(Process process)
    {
        this.process = process;
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) errors.Enqueue(e.Data); };
        process.BeginErrorReadLine();
    }

    /// <summary>How long the child's <c>FusionCacheBuilder.Build()</c> took (it connects to Redis).</summary>
    public TimeSpan BuildTime { get; private set; }

    /// <summary>Starts a node on <paramref name="connectionString"/> and <paramref name="cacheName"/>; returns once it is built.</summary>
    public static async Task<ChildNode> StartAsync(string connectionString, string cacheName)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Fusion.NodeProcess.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing: tests/NodeProcess is built next to the tests");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in (string[])[dll, connectionString, cacheName]) start.ArgumentList.Add(arg);
        var child = new ChildNode(Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start"));
        try
        {
            var ready = await child.ReadLine();
            Assert.StartsWith("ready ", ready);
            child.BuildTime = TimeSpan.FromMilliseconds(long.Parse(ready["ready ".Length..]));
            return child;
        }
        catch
        {
            await child.DisposeAsync();
            throw;
        }
    }

    /// <summary>Sends one command and returns the child's one-line answer.</summary>
    public async Task<string> Send(string command)
    {
        await process.StandardInput.WriteLineAsync(command).WaitAsync(Bound);
        await process.StandardInput.FlushAsync().WaitAsync(Bound);
        return await ReadLine();
    }

    private async Task<string> ReadLine()
    {
        try
        {
            return await process.StandardOutput.ReadLineAsync().WaitAsync(Bound)
                ?? throw new InvalidOperationException($"the child node exited (code {ExitCode()}); stderr: {string.Join(Environment.NewLine, errors)}");
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"the child node did not answer within {Bound.TotalSeconds:0}s; stderr: {string.Join(Environment.NewLine, errors)}");
        }
    }

    private string ExitCode() => process.HasExited ? process.ExitCode.ToString() : "still running";

    /// <summary>Asks the child to quit, and kills it if it has not within a second.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!process.HasExited)
            {
                await process.StandardInput.WriteLineAsync("quit");
                using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                await process.WaitForExitAsync(exit.Token);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or InvalidOperationException)
        {
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            process.Dispose();
        }
    }
}
