import java.util.zip.Deflater;

public class DeflateMany {
    public static void main(String[] args) throws Exception {
        int calls = Integer.parseInt(args[0]);
        new Deflater().end();  // loads libzip before the profiler's next library scan
        Thread.sleep(Long.parseLong(args[1]));
        byte[] input = new byte[4096];
        byte[] output = new byte[8192];
        long total = 0;
        long started = System.nanoTime();
        for (int i = 0; i < calls; i++) {
            Deflater deflater = new Deflater();
            deflater.setInput(input);
            deflater.finish();
            total += deflater.deflate(output);  // exactly one deflateBytesBytes call
            deflater.end();
        }
        System.out.println(total + " " + (System.nanoTime() - started));  // bytes, ns
    }
}
