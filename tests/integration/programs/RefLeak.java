/** JNI interface truth for sparkprof: global references created and deleted, and bytes
 * copied, in known numbers (see reftest.c and tests/integration/test_jni_refs.py).
 * Usage: java -Djava.library.path=DIR RefLeak LIBPATH WAIT_MS LINGER_MS */
public class RefLeak {
    static native void leakGlobals(Object target, int created, int deleted);
    static native void balancedGlobals(Object target, int count);
    static native void weakGlobals(Object target, int created, int deleted);
    static native long copyBytes(byte[] array, int calls, int length);
    static native long setInts(int[] array, int calls, int length);
    static native long longElements(long[] array, int commits, int aborts);
    static native long stringRegions(String text, int calls, int length, int utfCalls);

    public static void main(String[] args) throws Exception {
        System.load(args[0]);
        Thread.sleep(Long.parseLong(args[1]));  // the profiler's next scan attaches libjvm
        long[] copied = new long[1];
        // A thread of its own: the JVM's own JNI calls (class loading, I/O) stay on others.
        Thread work = new Thread(() -> copied[0] = work(), "reftest-work");
        work.start();
        work.join();
        System.out.println(copied[0]);
        Thread.sleep(Long.parseLong(args[2]));  // the profiler names the stacks while we live
    }

    static long work() {
        Object target = new Object();
        leakGlobals(target, 300, 120);
        balancedGlobals(target, 50);
        weakGlobals(target, 40, 15);
        long copied = copyBytes(new byte[4096], 1000, 100);
        copied += setInts(new int[64], 500, 32);
        copied += longElements(new long[64], 100, 100);
        return copied + stringRegions("abcdefghijklmnop", 300, 10, 100);
    }
}
