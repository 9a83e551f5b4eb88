#pragma once
// Video frames as RGB images, decoded with FFmpeg's libraries (libavformat reads the container,
// libavcodec decodes, libswscale converts to RGB): MP4, AVI, MKV and anything else the installed
// FFmpeg reads. Deepfake data sets (FaceForensics++, Celeb-DF, DFDC) come as videos, and faces are
// taken from every K-th frame.
//
// Needs FFmpeg's development packages (Debian: libavformat-dev libavcodec-dev libswscale-dev
// libavutil-dev); only this header includes them.
#include <clipft/backends.hpp>
#include <clipft/error.hpp>
#include <clipft/image/image.hpp>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/error.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace clipft::inline CLIPFT_BACKENDS::video {

namespace detail {

inline std::string error_text(int code) {
    char text[AV_ERROR_MAX_STRING_SIZE] = {};
    av_strerror(code, text, sizeof text);
    return text;
}

} // namespace detail

// Reads the video stream of a file frame by frame, in presentation order (as a player shows them).
class VideoReader {
public:
    // `decoder_threads`: threads libavcodec may use for one video (0: as many as cores). One is
    // right when many videos are decoded side by side.
    explicit VideoReader(std::filesystem::path path, int decoder_threads = 1) : path_(std::move(path)) {
        std::error_code exists_error;
        if (!std::filesystem::is_regular_file(path_, exists_error))
            fail(path_.string(), ": cannot read the video: ",
                 std::filesystem::exists(path_, exists_error) ? "not a regular file" : "no such file");
        int result = avformat_open_input(&format_, path_.c_str(), nullptr, nullptr);
        if (result < 0) fail(path_.string(), ": cannot open the video: ", detail::error_text(result));
        try {
            open_decoder(decoder_threads);
        } catch (...) {
            release();
            throw;
        }
    }
    VideoReader(const VideoReader&) = delete;
    VideoReader& operator=(const VideoReader&) = delete;
    ~VideoReader() { release(); }

    const std::filesystem::path& path() const { return path_; }
    std::int64_t width() const { return decoder_->width; }
    std::int64_t height() const { return decoder_->height; }

    // Frames per second (the stream's nominal rate; 0 when the file does not say).
    double fps() const {
        AVRational rate = av_guess_frame_rate(format_, stream(), nullptr);
        return rate.num > 0 && rate.den > 0 ? av_q2d(rate) : 0;
    }

    // The number of frames: the container's count when it keeps one (MP4, MOV), else estimated from
    // the duration and the frame rate (MKV, AVI); 0 when neither is known. The frames really decoded
    // can differ from an estimate; frames_read() counts them.
    std::int64_t frame_count() const {
        if (stream()->nb_frames > 0) return stream()->nb_frames;
        double seconds = 0;
        if (stream()->duration != AV_NOPTS_VALUE)
            seconds = double(stream()->duration) * av_q2d(stream()->time_base);
        else if (format_->duration != AV_NOPTS_VALUE)
            seconds = double(format_->duration) / AV_TIME_BASE;
        return std::int64_t(std::llround(seconds * fps()));
    }

    // Frames decoded so far (the index the next frame will have).
    std::int64_t frames_read() const { return frames_read_; }

    // Decodes the next frame into `frame` (RGB); false at the end of the video.
    bool read(image::Image& frame) {
        if (!decode_next()) return false;
        convert(frame);
        return true;
    }

    // Decodes the rest of the video and calls visit(index, frame) for the frames whose index (from
    // 0) is a multiple of `every`; only those are converted to RGB. Returns the frames decoded.
    std::int64_t for_each_frame(std::int64_t every,
                                const std::function<void(std::int64_t, const image::Image&)>& visit) {
        if (every < 1) fail(path_.string(), ": frames are sampled every K-th with K >= 1, got ", every);
        return for_each_frame_where([every](std::int64_t index) { return index % every == 0; }, visit);
    }

    // Decodes the rest of the video and calls visit(index, frame) for the frames whose index `wanted`
    // accepts (e.g. those of video/frame_sampling.hpp); only those are converted to RGB.
    std::int64_t for_each_frame_where(const std::function<bool(std::int64_t)>& wanted,
                                      const std::function<void(std::int64_t, const image::Image&)>& visit) {
        image::Image frame;
        while (decode_next()) {
            std::int64_t index = frames_read_ - 1;
            if (!wanted(index)) continue;
            convert(frame);
            visit(index, frame);
        }
        return frames_read_;
    }

private:
    AVStream* stream() const { return format_->streams[stream_index_]; }

    void open_decoder(int decoder_threads) {
        int result = avformat_find_stream_info(format_, nullptr);
        if (result < 0)
            fail(path_.string(), ": cannot read the video's stream information: ", detail::error_text(result));
        stream_index_ = av_find_best_stream(format_, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
        if (stream_index_ < 0) fail(path_.string(), ": the file holds no video stream");
        const AVCodec* codec = avcodec_find_decoder(stream()->codecpar->codec_id);
        if (!codec)
            fail(path_.string(), ": this FFmpeg build has no decoder for the video's codec (",
                 avcodec_get_name(stream()->codecpar->codec_id), ")");
        decoder_ = avcodec_alloc_context3(codec);
        if (!decoder_) fail(path_.string(), ": out of memory for the video decoder");
        result = avcodec_parameters_to_context(decoder_, stream()->codecpar);
        if (result < 0)
            fail(path_.string(), ": cannot set up the ", codec->name, " decoder: ", detail::error_text(result));
        decoder_->thread_count = decoder_threads;
        result = avcodec_open2(decoder_, codec, nullptr);
        if (result < 0)
            fail(path_.string(), ": cannot open the ", codec->name, " decoder: ", detail::error_text(result));
        packet_ = av_packet_alloc();
        decoded_ = av_frame_alloc();
        if (!packet_ || !decoded_) fail(path_.string(), ": out of memory for video frames");
    }

    // The next frame into decoded_; false at the end.
    bool decode_next() {
        for (;;) {
            int result = avcodec_receive_frame(decoder_, decoded_);
            if (result == 0) {
                ++frames_read_;
                return true;
            }
            if (result == AVERROR_EOF) return false;
            if (result != AVERROR(EAGAIN))
                fail(path_.string(), ": cannot decode frame ", frames_read_, ": ", detail::error_text(result));
            if (draining_) return false;
            result = av_read_frame(format_, packet_);
            if (result == AVERROR_EOF) {
                draining_ = true; // the decoder still holds frames; an empty packet asks for them
                result = avcodec_send_packet(decoder_, nullptr);
            } else if (result < 0) {
                fail(path_.string(), ": cannot read the video after frame ", frames_read_, ": ",
                     detail::error_text(result));
            } else {
                if (packet_->stream_index == stream_index_) result = avcodec_send_packet(decoder_, packet_);
                av_packet_unref(packet_);
            }
            if (result < 0 && result != AVERROR(EAGAIN))
                fail(path_.string(), ": cannot decode the video after frame ", frames_read_, ": ",
                     detail::error_text(result));
        }
    }

    // decoded_ as RGB, honouring its colour matrix (BT.601 / BT.709 ...) and range (limited / full).
    void convert(image::Image& frame) {
        const int width = decoded_->width, height = decoded_->height;
        if (frame.width != width || frame.height != height || frame.channels != 3)
            frame = image::Image(height, width, 3);
        AVPixelFormat format = AVPixelFormat(decoded_->format);
        bool full_range = decoded_->color_range == AVCOL_RANGE_JPEG;
        // The "J" formats are the same layouts marked full-range; swscale wants the range said apart.
        switch (format) {
        case AV_PIX_FMT_YUVJ420P:
            format = AV_PIX_FMT_YUV420P, full_range = true;
            break;
        case AV_PIX_FMT_YUVJ422P:
            format = AV_PIX_FMT_YUV422P, full_range = true;
            break;
        case AV_PIX_FMT_YUVJ444P:
            format = AV_PIX_FMT_YUV444P, full_range = true;
            break;
        case AV_PIX_FMT_YUVJ440P:
            format = AV_PIX_FMT_YUV440P, full_range = true;
            break;
        default:
            break;
        }
        scaler_ = sws_getCachedContext(scaler_, width, height, format, width, height, AV_PIX_FMT_RGB24,
                                       SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, nullptr, nullptr, nullptr);
        if (!scaler_)
            fail(path_.string(), ": cannot convert frames of pixel format ", av_get_pix_fmt_name(format), " to RGB");
        const int colorspace =
            decoded_->colorspace == AVCOL_SPC_UNSPECIFIED ? SWS_CS_DEFAULT : int(decoded_->colorspace);
        const int* coefficients = sws_getCoefficients(colorspace);
        sws_setColorspaceDetails(scaler_, coefficients, full_range ? 1 : 0, coefficients, 1, 0, 1 << 16, 1 << 16);
        std::uint8_t* planes[4] = {frame.pixels.data(), nullptr, nullptr, nullptr};
        int strides[4] = {width * 3, 0, 0, 0};
        sws_scale(scaler_, decoded_->data, decoded_->linesize, 0, height, planes, strides);
    }

    void release() {
        sws_freeContext(scaler_);
        av_frame_free(&decoded_);
        av_packet_free(&packet_);
        avcodec_free_context(&decoder_);
        avformat_close_input(&format_);
    }

    std::filesystem::path path_;
    AVFormatContext* format_ = nullptr;
    AVCodecContext* decoder_ = nullptr;
    AVPacket* packet_ = nullptr;
    AVFrame* decoded_ = nullptr;
    SwsContext* scaler_ = nullptr;
    int stream_index_ = -1;
    std::int64_t frames_read_ = 0;
    bool draining_ = false;
};

} // namespace clipft::video
